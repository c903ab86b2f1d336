/* Internal declarations shared by the portable and per-ISA files. Not installed. */
#ifndef WSF_INTERNAL_H
#define WSF_INTERNAL_H

#include <string.h>
#include "wsframe.h"

#if defined(_MSC_VER) && !defined(__cplusplus) && !defined(inline)
#  define inline __inline   /* older MSVC C mode */
#endif

/* ---- Which SIMD kernels exist in this build --------------------------------------------------------------
   Decided from the target architecture and the compiler version ONLY (never from -m flags), so that the
   dispatcher, compiled with baseline flags, and each per-ISA file, compiled with its own flags, agree on
   which symbols exist. A per-ISA file whose WSF_HAVE_ macro is 0 compiles to an empty object. */
#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#  define WSF_X86_64 1
#else
#  define WSF_X86_64 0
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#  define WSF_AARCH64 1
#else
#  define WSF_AARCH64 0
#endif

#if defined(__clang__)
#  if defined(__apple_build_version__)
#    define WSF_CLANG_AT_LEAST(maj) (__clang_major__ >= (maj) + 3)  /* Apple numbers run ahead */
#  else
#    define WSF_CLANG_AT_LEAST(maj) (__clang_major__ >= (maj))
#  endif
#  define WSF_GCC_AT_LEAST(maj) 0
#elif defined(__GNUC__)
#  define WSF_CLANG_AT_LEAST(maj) 0
#  define WSF_GCC_AT_LEAST(maj) (__GNUC__ >= (maj))
#else
#  define WSF_CLANG_AT_LEAST(maj) 0
#  define WSF_GCC_AT_LEAST(maj) 0
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#  define WSF_MSVC_AT_LEAST(v) (_MSC_VER >= (v))
#else
#  define WSF_MSVC_AT_LEAST(v) 0
#endif

#if WSF_X86_64 && (WSF_GCC_AT_LEAST(4) || WSF_CLANG_AT_LEAST(3) || WSF_MSVC_AT_LEAST(1600))
#  define WSF_HAVE_SSE2 1
#  define WSF_HAVE_SSSE3 1
#else
#  define WSF_HAVE_SSE2 0
#  define WSF_HAVE_SSSE3 0
#endif
#if WSF_X86_64 && (WSF_GCC_AT_LEAST(5) || WSF_CLANG_AT_LEAST(4) || WSF_MSVC_AT_LEAST(1800))
#  define WSF_HAVE_AVX2 1
#else
#  define WSF_HAVE_AVX2 0
#endif
/* AVX-512 F/BW/VL/VBMI intrinsics incl. masked byte loads and __mmask64 helpers. */
#if WSF_X86_64 && (WSF_GCC_AT_LEAST(7) || WSF_CLANG_AT_LEAST(6) || WSF_MSVC_AT_LEAST(1920))
#  define WSF_HAVE_AVX512 1
#else
#  define WSF_HAVE_AVX512 0
#endif
/* AVX-512 VBMI2 (16-bit compress): gcc 8, clang 6, MSVC 2019. */
#if WSF_HAVE_AVX512 && (WSF_GCC_AT_LEAST(8) || WSF_CLANG_AT_LEAST(6) || WSF_MSVC_AT_LEAST(1920))
#  define WSF_HAVE_AVX512VBMI2 1
#else
#  define WSF_HAVE_AVX512VBMI2 0
#endif
#if WSF_AARCH64 && !defined(__AARCH64EB__) /* lane order assumes little-endian */
#  define WSF_HAVE_NEON 1
#else
#  define WSF_HAVE_NEON 0
#endif

/* With GCC/clang an ISA file needs its -m flags; fail loudly rather than miscompile. MSVC needs none. */
#if defined(__GNUC__) || defined(__clang__)
#  define WSF_NEEDS_ISA_FLAGS 1
#else
#  define WSF_NEEDS_ISA_FLAGS 0
#endif

/* ---- Kernel signatures ------------------------------------------------------------------------------------ */
typedef void (*wsf_mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
/* A UTF-8 kernel validates p[0:len], which starts on a character boundary.
   Returns 1 when valid so far; *pos = start of the unfinished trailing sequence (a valid prefix), or len.
   Returns 0 when invalid; *pos = offset of the first impossible byte. */
typedef int (*wsf_utf8_fn)(const uint8_t *p, size_t len, size_t *pos);

void wsf__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
int wsf__utf8_scalar(const uint8_t *p, size_t len, size_t *pos);
/* Exact answer after a SIMD kernel saw an error in the block starting at `at` (no error flagged before it):
   backs up to a character boundary and lets the scalar kernel find the first impossible byte. */
int wsf__utf8_resolve(const uint8_t *p, size_t len, size_t at, size_t *pos);
/* Exact answer for the end of a flag-free input: only the last (up to 3) bytes may be unfinished or an
   impossible lead that no later byte exposed. */
int wsf__utf8_finish(const uint8_t *p, size_t len, size_t *pos);
#ifdef WSF_TESTING
extern unsigned long wsf__resolve_calls;
#endif

#if WSF_HAVE_SSE2
void wsf__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
#endif
#if WSF_HAVE_SSSE3
int wsf__utf8_ssse3(const uint8_t *p, size_t len, size_t *pos);
int wsf__fused_ssse3(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos);
#endif
#if WSF_HAVE_AVX2
void wsf__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
int wsf__utf8_avx2(const uint8_t *p, size_t len, size_t *pos);
int wsf__fused_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos);
#endif
#if WSF_HAVE_AVX512
void wsf__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
int wsf__utf8_avx512(const uint8_t *p, size_t len, size_t *pos);
int wsf__fused_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                      size_t *pos);
#endif
#if WSF_HAVE_NEON
void wsf__mask_neon(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
int wsf__utf8_neon(const uint8_t *p, size_t len, size_t *pos);
int wsf__fused_neon(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos);
#endif

/* A fused kernel unmasks all of src into dst (as wsf_mask) and validates the unmasked bytes with the
   UTF-8 kernel contract above (dst[0:len] starts on a character boundary). dst == src is allowed. */
typedef int (*wsf_fused_fn)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                            size_t *pos);

/* Valid UTF-8 -> code units (utf8_transcode.c): one entry per UTF-8 path that has kernels of its own.
   `vector` has bit w set (w = 1, 2, 4) when to_ucs<w> is a vector kernel, not the portable loop. */
typedef size_t (*wsf_measure_fn)(const uint8_t *p, size_t len, uint8_t *max_byte);
typedef size_t (*wsf_to_ucs_fn)(void *dst, size_t cap, const uint8_t *p, size_t len);
struct wsf_transcoder { wsf_measure_fn measure; wsf_to_ucs_fn to_ucs1, to_ucs2, to_ucs4; unsigned vector; };
size_t wsf__measure_scalar(const uint8_t *p, size_t len, uint8_t *max_byte);
size_t wsf__to_ucs1_scalar(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs2_scalar(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs4_scalar(void *dst, size_t cap, const uint8_t *p, size_t len);
#if WSF_HAVE_AVX2
size_t wsf__measure_avx2(const uint8_t *p, size_t len, uint8_t *max_byte);
size_t wsf__to_ucs1_avx2(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs2_avx2(void *dst, size_t cap, const uint8_t *p, size_t len);
#endif
#if WSF_HAVE_AVX512
size_t wsf__measure_avx512(const uint8_t *p, size_t len, uint8_t *max_byte);
size_t wsf__to_ucs1_avx512(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs2_avx512(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs4_avx512(void *dst, size_t cap, const uint8_t *p, size_t len);
#endif
#if WSF_HAVE_AVX512VBMI2
size_t wsf__to_ucs1_avx512vbmi2(void *dst, size_t cap, const uint8_t *p, size_t len);
size_t wsf__to_ucs2_avx512vbmi2(void *dst, size_t cap, const uint8_t *p, size_t len);
#endif
/* 1 if the CPU (and OS) can run the avx512vbmi2 kernels. */
int wsf__cpu_has_vbmi2(void);
/* The transcoder of the selected UTF-8 path (the scalar one where a path has none). */
const struct wsf_transcoder *wsf__transcoder(void);

/* UTF-8 state helpers (utf8_stream.c), shared by the feed and the fused entry points. */
int wsf__u8st_fail(wsf_utf8_state *st, size_t *err, size_t at);
/* Completes a pending character from data[0:len] (len > 0). 0 on error (state failed, *err set);
   else 1 with *used = bytes taken; the state is updated (still pending if the chunk ran out first). */
int wsf__u8st_head(wsf_utf8_state *st, const uint8_t *data, size_t len, size_t *used, size_t *err);
/* How many more bytes the pending character needs (0 when none is pending; 1 for a corrupt state, which
   head() then fails). */
size_t wsf__u8st_want(const wsf_utf8_state *st);
/* Stores an unfinished trailing character (n <= 3 bytes, n == 0 for none) and returns 1; n > 3 (a broken
   kernel) fails the state with *err = at and returns 0. */
int wsf__u8st_tail(wsf_utf8_state *st, const uint8_t *tail, size_t n, size_t *err, size_t at);

/* Currently selected kernels (filled on first use). Used by the public wrappers and the tests. */
wsf_mask_fn wsf__mask_kernel(void);
wsf_utf8_fn wsf__utf8_kernel(void);
wsf_fused_fn wsf__fused_kernel(void);   /* NULL: the selected UTF-8 path has none (block-wise fallback) */

/* ---- Small helpers ------------------------------------------------------------------------------------------ */
/* The 4 key bytes rotated so that byte j pairs with data byte j of a buffer starting at `phase`,
   as a native-endian word (so a memcpy/broadcast puts them back in memory order). */
static inline uint32_t wsf__key_word(const uint8_t key[4], size_t phase)
{
    uint8_t k[4];
    uint32_t w;
    k[0] = key[phase & 3];
    k[1] = key[(phase + 1) & 3];
    k[2] = key[(phase + 2) & 3];
    k[3] = key[(phase + 3) & 3];
    memcpy(&w, k, 4);
    return w;
}

/* 0..31 bytes: one 16/8/4-byte step each (biggest first, so every step starts at a multiple of 4 and uses the
   same rotated key word), then 0..3 single bytes. No key word at all below 4 bytes: a tiny frame costs a few
   byte operations. Each step loads before it stores, so in place is fine. */
static inline void wsf__mask_short(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], size_t phase)
{
    size_t o = 0;
    if (n >= 4) {
        uint32_t k = wsf__key_word(key, phase);
        uint64_t k8 = ((uint64_t)k << 32) | k;   /* k's bytes twice in memory order, either endianness */
        if (n & 16) {
            uint64_t w[2];
            memcpy(w, src, 16);
            w[0] ^= k8; w[1] ^= k8;
            memcpy(dst, w, 16);
            o = 16;
        }
        if (n & 8) {
            uint64_t w;
            memcpy(&w, src + o, 8);
            w ^= k8;
            memcpy(dst + o, &w, 8);
            o += 8;
        }
        if (n & 4) {
            uint32_t w;
            memcpy(&w, src + o, 4);
            w ^= k;
            memcpy(dst + o, &w, 4);
            o += 4;
        }
    }
    for (; o < n; o++) dst[o] = (uint8_t)(src[o] ^ key[(phase + o) & 3]);
}

/* Keiser-Lemire error classes: one bit per class, AND of three nibble lookups
   (previous byte high nibble, previous byte low nibble, current byte high nibble). */
#define WSF_U8_TOO_SHORT  0x01   /* lead byte then a non-continuation */
#define WSF_U8_TOO_LONG   0x02   /* ASCII then a continuation */
#define WSF_U8_OVERLONG3  0x04   /* E0 80..9F */
#define WSF_U8_TOO_LARGE  0x08   /* F4 90..BF, F5..FF 90..BF */
#define WSF_U8_SURROGATE  0x10   /* ED A0..BF */
#define WSF_U8_OVERLONG2  0x20   /* C0/C1 then a continuation */
#define WSF_U8_OVL4_LRG8  0x40   /* F0 80..8F (overlong 4) and F5..FF 80..8F (too large) */
#define WSF_U8_TWO_CONTS  0x80   /* continuation then continuation: must match the 3rd/4th-byte check */

/* Tables as 16 byte values, in index order (used with pshufb/tbl after broadcasting). */
#define WSF_U8_T1H_BYTES \
    0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x80, 0x80, 0x80, 0x80, 0x21, 0x01, 0x15, 0x49
#define WSF_U8_T1L_BYTES \
    0xE7, 0xA3, 0x83, 0x83, 0x8B, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xCB, 0xDB, 0xCB, 0xCB
#define WSF_U8_T2H_BYTES \
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xE6, 0xAE, 0xBA, 0xBA, 0x01, 0x01, 0x01, 0x01

/* ---- UTF-8 state layout: opaque[0] = failed flag (bit 0) | pending count << 8, opaque[1] = pending bytes. */
#define WSF_U8ST_FAILED 1u

#endif /* WSF_INTERNAL_H */
