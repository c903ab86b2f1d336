/* AVX-512 UTF-8 validation (and fused unmask+validate), lookup-table method (Keiser & Lemire 2021), one 64-byte vector per block.
   AVX-512 specifics that cut the instruction count (which is what limits this kernel):
   - VBMI vpermb looks up a 64-entry table by the low 6 bits of each byte, so the 16-entry nibble tables,
     repeated 4 times, need no "& 0x0F" (the junk bits 4-5 after a 16-bit shift index a copy of the table);
   - the "must be a 3rd/4th continuation byte" rule is computed on 64-bit lane masks in general registers
     (lead-byte masks shifted by 2 and 3, carrying across blocks) instead of two more shifted vectors;
   - the tail is a masked (zero-filling, non-faulting) load with flags past the end masked off. */
#include "../../internal.h"

#if WSF_HAVE_AVX512
#if WSF_NEEDS_ISA_FLAGS && !(defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__))
#  error "compile with -mavx512f -mavx512bw -mavx512vbmi"
#endif
#include <immintrin.h>

static const uint8_t TABS[3][16] = {{WSF_U8_T1H_BYTES}, {WSF_U8_T1L_BYTES}, {WSF_U8_T2H_BYTES}};
static const uint8_t IOTA[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

struct tabs { __m512i t1h, t1l, t2h, idx1, low7, e0, f0; };

static inline __m512i bcast16(const uint8_t *t)
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

/* Lane masks of error positions for the block `in` (64 bytes), `prev` being the block before.
   *carry holds the 3rd/4th-continuation requirements spilling over from the previous block (bits 0..2)
   and is updated for the next one. */
static inline uint64_t check(__m512i in, __m512i prev, const struct tabs *t, uint64_t *carry)
{
    /* index i - 1 (mod 256): in[i - 1], or prev[63] for lane 0 (bit 6 selects the second source) */
    __m512i p1 = _mm512_permutex2var_epi8(in, t->idx1, prev);
    __m512i b1h = _mm512_permutexvar_epi8(_mm512_srli_epi16(p1, 4), t->t1h);
    __m512i b1l = _mm512_permutexvar_epi8(p1, t->t1l);
    __m512i b2h = _mm512_permutexvar_epi8(_mm512_srli_epi16(in, 4), t->t2h);
    __m512i sc = _mm512_ternarylogic_epi32(b1h, b1l, b2h, 0x80);   /* a & b & c */
    uint64_t l3 = (uint64_t)_mm512_cmpge_epu8_mask(in, t->e0);     /* E0..FF: 2 bytes on must continue */
    uint64_t l4 = (uint64_t)_mm512_cmpge_epu8_mask(in, t->f0);     /* F0..FF: 3 bytes on must continue */
    uint64_t must = (l3 << 2) | (l4 << 3) | *carry;
    uint64_t cont2 = (uint64_t)_mm512_movepi8_mask(sc);             /* TWO_CONTS: continuation after one */
    *carry = (l3 >> 62) | (l4 >> 61);
    return (uint64_t)_mm512_test_epi8_mask(sc, t->low7) | (cont2 ^ must);
}

static inline __mmask64 first_n(size_t n) { return (__mmask64)((UINT64_C(1) << n) - 1); }   /* n < 64 */

/* One body for validation (masked == 0: src is read, nothing is written) and for fused unmask+validate
   (masked == 1: each block is loaded from src, XORed with the key, stored to dst, and validated from the
   register). Both wrappers pass a constant, so each compiles to its own specialised loop. With dst == src,
   a block is never loaded again after it was stored: later reads of unmasked data go to dst. */
static inline int run(uint8_t *dst, const uint8_t *src, size_t len, int masked, const uint8_t key[4],
                      size_t phase, size_t *pos)
{
    struct tabs t;
    const uint8_t *u = masked ? dst : src;   /* where the unmasked bytes are */
    __m512i in, prev = _mm512_setzero_si512();
    __m512i k = masked ? _mm512_set1_epi32((int)wsf__key_word(key, phase)) : _mm512_setzero_si512();
    uint64_t carry = 0, pend = 0;   /* pend: the previous block ended inside a multi-byte character (maybe) */
    size_t i = 0;
    t.t1h = bcast16(TABS[0]); t.t1l = bcast16(TABS[1]); t.t2h = bcast16(TABS[2]);
    t.idx1 = _mm512_sub_epi8(_mm512_loadu_si512((const void *)IOTA), _mm512_set1_epi8(1));
    t.low7 = _mm512_set1_epi8(0x7F); t.e0 = _mm512_set1_epi8((char)0xE0); t.f0 = _mm512_set1_epi8((char)0xF0);
    while (i + 64 <= len) {
        uint64_t hi;
        in = _mm512_loadu_si512((const void *)(src + i));
        if (masked) {
            in = _mm512_xor_si512(in, k);
            _mm512_storeu_si512((void *)(dst + i), in);
        }
        hi = (uint64_t)_mm512_movepi8_mask(in);
        if ((hi | pend) == 0) {
            /* ASCII (and nothing pending): skip the rest of the run two blocks per test */
            i += 64;
            for (; i + 128 <= len; i += 128) {
                __m512i a = _mm512_loadu_si512((const void *)(src + i));
                __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
                if (masked) { a = _mm512_xor_si512(a, k); b = _mm512_xor_si512(b, k); }
                if (_mm512_movepi8_mask(_mm512_or_si512(a, b)) != 0) break;   /* not stored: reloaded below */
                if (masked) {
                    _mm512_storeu_si512((void *)(dst + i), a);
                    _mm512_storeu_si512((void *)(dst + i + 64), b);
                }
            }
            prev = _mm512_loadu_si512((const void *)(u + i - 64));   /* i >= 64 here */
            continue;
        }
        if (check(in, prev, &t, &carry)) {
            if (masked) wsf__mask_avx512(dst + i + 64, src + i + 64, len - i - 64, key, phase + i + 64);
            return wsf__utf8_resolve(u, len, i, pos);
        }
        pend = hi >> 61;
        prev = in;
        i += 64;
    }
    if (i < len) {
        __mmask64 live = first_n(len - i);
        uint64_t hi;
        in = _mm512_maskz_loadu_epi8(live, src + i);
        if (masked) {
            in = _mm512_xor_si512(in, k);
            _mm512_mask_storeu_epi8(dst + i, live, in);
        }
        hi = (uint64_t)_mm512_movepi8_mask(in);
        if ((hi | pend) != 0 && (check(in, prev, &t, &carry) & (uint64_t)live))
            return wsf__utf8_resolve(u, len, i, pos);
    }
    return wsf__utf8_finish(u, len, pos);
}

int wsf__utf8_avx512(const uint8_t *p, size_t len, size_t *pos)
{
    return run(NULL, p, len, 0, NULL, 0, pos);
}

int wsf__fused_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                      size_t *pos)
{
    return run(dst, src, len, 1, key, phase, pos);
}
#endif
