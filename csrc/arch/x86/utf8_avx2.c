/* AVX2 UTF-8 validation (and fused unmask+validate), lookup-table method (Keiser & Lemire 2021); same
   structure as utf8_ssse3.c with two 32-byte vectors per 64-byte block. vpshufb works per 128-bit lane, so the
   tables are duplicated, and the "previous bytes" vectors need a lane-crossing permute before the alignr. */
#include "../../internal.h"

#if WSF_HAVE_AVX2
#if WSF_NEEDS_ISA_FLAGS && !defined(__AVX2__)
#  error "compile with -mavx2"
#endif
#include <immintrin.h>

static const uint8_t T1H[32] = {WSF_U8_T1H_BYTES, WSF_U8_T1H_BYTES};
static const uint8_t T1L[32] = {WSF_U8_T1L_BYTES, WSF_U8_T1L_BYTES};
static const uint8_t T2H[32] = {WSF_U8_T2H_BYTES, WSF_U8_T2H_BYTES};
static const uint8_t INCOMPLETE[32] = {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                       255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                       0xEF, 0xDF, 0xBF};
static const uint8_t IOTA[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

struct tabs { __m256i t1h, t1l, t2h, nib, third, fourth, top; };

#define LD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
/* the 32 bytes starting n bytes before `in` (n = 1..3), `prev` being the 32 bytes before `in` */
#define PREV(in, prev, n) _mm256_alignr_epi8(in, _mm256_permute2x128_si256(prev, in, 0x21), 16 - (n))

static inline __m256i check(__m256i in, __m256i prev, const struct tabs *t)
{
    __m256i p1 = PREV(in, prev, 1), p2 = PREV(in, prev, 2), p3 = PREV(in, prev, 3);
    __m256i b1h = _mm256_shuffle_epi8(t->t1h, _mm256_and_si256(_mm256_srli_epi16(p1, 4), t->nib));
    __m256i b1l = _mm256_shuffle_epi8(t->t1l, _mm256_and_si256(p1, t->nib));
    __m256i b2h = _mm256_shuffle_epi8(t->t2h, _mm256_and_si256(_mm256_srli_epi16(in, 4), t->nib));
    __m256i sc = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    __m256i must = _mm256_or_si256(_mm256_subs_epu8(p2, t->third), _mm256_subs_epu8(p3, t->fourth));
    return _mm256_xor_si256(sc, _mm256_and_si256(must, t->top));
}

static inline int nonzero(__m256i v) { return !_mm256_testz_si256(v, v); }
static inline int ascii(__m256i a, __m256i b) { return _mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0; }

/* Error in the block at i: in fused mode the rest of dst must still be unmasked before the scalar locator
   reads it. */
static int fail_at(uint8_t *dst, const uint8_t *src, size_t len, size_t i, size_t done, int masked,
                   const uint8_t key[4], size_t phase, size_t *pos)
{
    if (masked) {
        wsf__mask_avx2(dst + done, src + done, len - done, key, phase + done);
        return wsf__utf8_resolve(dst, len, i, pos);
    }
    return wsf__utf8_resolve(src, len, i, pos);
}

/* One body for validation (masked == 0: src is only read) and fused unmask+validate (masked == 1: blocks are
   loaded from src, XORed with the key, stored to dst and validated from the registers; the tail is unmasked
   first and then checked from dst). Both wrappers pass a constant, so each gets its own specialised code. */
static inline int run(uint8_t *dst, const uint8_t *src, size_t len, int masked, const uint8_t key[4],
                      size_t phase, size_t *pos)
{
    struct tabs t;
    const uint8_t *u = masked ? dst : src;   /* where the unmasked bytes are */
    __m256i prev = _mm256_setzero_si256(), pinc = _mm256_setzero_si256(), a, b, e;
    __m256i k = masked ? _mm256_set1_epi32((int)wsf__key_word(key, phase)) : _mm256_setzero_si256();
    size_t i = 0;
    t.t1h = LD(T1H); t.t1l = LD(T1L); t.t2h = LD(T2H); t.nib = _mm256_set1_epi8(0x0F);
    t.third = _mm256_set1_epi8(0x60); t.fourth = _mm256_set1_epi8(0x70); t.top = _mm256_set1_epi8((char)-128);
    for (; i + 64 <= len; i += 64) {
        a = LD(src + i);
        b = LD(src + i + 32);
        if (masked) {
            a = _mm256_xor_si256(a, k);
            b = _mm256_xor_si256(b, k);
            _mm256_storeu_si256((__m256i *)(void *)(dst + i), a);
            _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), b);
        }
        if (ascii(a, b)) {
            if (nonzero(pinc)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);   /* lead, ASCII */
            prev = b;
            continue;
        }
        e = _mm256_or_si256(check(a, prev, &t), check(b, a, &t));
        pinc = _mm256_subs_epu8(b, LD(INCOMPLETE));
        prev = b;
        if (nonzero(e)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);
    }
    if (i < len) {
        if (masked) wsf__mask_avx2(dst + i, src + i, len - i, key, phase + i);
        if (len >= 64 + 32) {
            /* Re-check the last 64 bytes in place: flags depend only on earlier bytes, so the already checked
               part adds none, and nothing is read outside the buffer. */
            size_t s = len - 64;
            prev = LD(u + s - 32);
            a = LD(u + s);
            b = LD(u + s + 32);
            if (!ascii(a, b)) {
                e = _mm256_or_si256(check(a, prev, &t), check(b, a, &t));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        } else {
            /* Short input: zero-padded copy; flags past the real end (padding after an unfinished character)
               are masked off by position. */
            uint8_t buf[64];
            __m256i rem = _mm256_set1_epi8((char)(len - i));
            memset(buf, 0, sizeof buf);
            memcpy(buf, u + i, len - i);
            a = LD(buf);
            b = LD(buf + 32);
            if (ascii(a, b)) {
                if (nonzero(pinc)) return wsf__utf8_resolve(u, len, i, pos);
            } else {
                e = _mm256_or_si256(_mm256_and_si256(check(a, prev, &t), _mm256_cmpgt_epi8(rem, LD(IOTA))),
                                    _mm256_and_si256(check(b, a, &t), _mm256_cmpgt_epi8(rem, LD(IOTA + 32))));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        }
    }
    return wsf__utf8_finish(u, len, pos);
}

int wsf__utf8_avx2(const uint8_t *p, size_t len, size_t *pos)
{
    return run(NULL, p, len, 0, NULL, 0, pos);
}

int wsf__fused_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos)
{
    return run(dst, src, len, 1, key, phase, pos);
}
#endif
