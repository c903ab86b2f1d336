/* SSSE3 UTF-8 validation (and fused unmask+validate), lookup-table method (Keiser & Lemire 2021): for each
   byte, three 16-entry nibble lookups (previous byte high/low nibble, current byte high nibble) ANDed give the
   error classes of the pair;
   a saturating-subtract test on the bytes 2 and 3 back says where 3rd/4th continuation bytes must be.
   64-byte blocks; an all-ASCII block costs one OR + movemask. The first flagged block is handed to the scalar
   locator for the exact offset. See internal.h for the table layout. */
#include "../../internal.h"

#if WSF_HAVE_SSSE3
#if WSF_NEEDS_ISA_FLAGS && !defined(__SSSE3__)
#  error "compile with -mssse3"
#endif
#include <tmmintrin.h>

static const uint8_t T1H[16] = {WSF_U8_T1H_BYTES};
static const uint8_t T1L[16] = {WSF_U8_T1L_BYTES};
static const uint8_t T2H[16] = {WSF_U8_T2H_BYTES};
/* saturating-subtract thresholds: nonzero in the last 3 lanes iff a character is unfinished at the end */
static const uint8_t INCOMPLETE[16] = {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                       0xEF, 0xDF, 0xBF};
static const uint8_t IOTA[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

struct tabs { __m128i t1h, t1l, t2h, nib, third, fourth, top; };

#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* error bits for the 16 bytes of `in`, given the 16 bytes before it */
static inline __m128i check(__m128i in, __m128i prev, const struct tabs *t)
{
    __m128i p1 = _mm_alignr_epi8(in, prev, 15), p2 = _mm_alignr_epi8(in, prev, 14);
    __m128i p3 = _mm_alignr_epi8(in, prev, 13);
    __m128i b1h = _mm_shuffle_epi8(t->t1h, _mm_and_si128(_mm_srli_epi16(p1, 4), t->nib));
    __m128i b1l = _mm_shuffle_epi8(t->t1l, _mm_and_si128(p1, t->nib));
    __m128i b2h = _mm_shuffle_epi8(t->t2h, _mm_and_si128(_mm_srli_epi16(in, 4), t->nib));
    __m128i sc = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
    /* top bit set where 2 back is E0..FF or 3 back is F0..FF: this byte must be a continuation */
    __m128i must = _mm_or_si128(_mm_subs_epu8(p2, t->third), _mm_subs_epu8(p3, t->fourth));
    return _mm_xor_si128(sc, _mm_and_si128(must, t->top));
}

static inline int nonzero(__m128i v) { return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0xFFFF; }

/* Error in the block at i: in fused mode the rest of dst is unmasked before the scalar locator reads it. */
static int fail_at(uint8_t *dst, const uint8_t *src, size_t len, size_t i, size_t done, int masked,
                   const uint8_t key[4], size_t phase, size_t *pos)
{
    if (masked) {
        wsf__mask_sse2(dst + done, src + done, len - done, key, phase + done);
        return wsf__utf8_resolve(dst, len, i, pos);
    }
    return wsf__utf8_resolve(src, len, i, pos);
}

#define ST(p, v) _mm_storeu_si128((__m128i *)(void *)(p), v)

/* One body for validation (masked == 0) and fused unmask+validate (masked == 1), as in utf8_avx2.c. */
static inline int run(uint8_t *dst, const uint8_t *src, size_t len, int masked, const uint8_t key[4],
                      size_t phase, size_t *pos)
{
    struct tabs t;
    const uint8_t *u = masked ? dst : src;   /* where the unmasked bytes are */
    __m128i prev = _mm_setzero_si128(), pinc = _mm_setzero_si128(), a, b, c, d, e;
    __m128i k = masked ? _mm_set1_epi32((int)wsf__key_word(key, phase)) : _mm_setzero_si128();
    size_t i = 0;
    t.t1h = LD(T1H); t.t1l = LD(T1L); t.t2h = LD(T2H); t.nib = _mm_set1_epi8(0x0F);
    t.third = _mm_set1_epi8(0x60); t.fourth = _mm_set1_epi8(0x70); t.top = _mm_set1_epi8((char)-128);
    for (; i + 64 <= len; i += 64) {
        a = LD(src + i); b = LD(src + i + 16); c = LD(src + i + 32); d = LD(src + i + 48);
        if (masked) {
            a = _mm_xor_si128(a, k); b = _mm_xor_si128(b, k); c = _mm_xor_si128(c, k); d = _mm_xor_si128(d, k);
            ST(dst + i, a); ST(dst + i + 16, b); ST(dst + i + 32, c); ST(dst + i + 48, d);
        }
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) == 0) {
            if (nonzero(pinc)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);   /* lead, ASCII */
            prev = d;
            continue;
        }
        e = _mm_or_si128(_mm_or_si128(check(a, prev, &t), check(b, a, &t)),
                         _mm_or_si128(check(c, b, &t), check(d, c, &t)));
        pinc = _mm_subs_epu8(d, LD(INCOMPLETE));
        prev = d;
        if (nonzero(e)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);
    }
    if (i < len) {
        if (masked) wsf__mask_sse2(dst + i, src + i, len - i, key, phase + i);
        if (len >= 64 + 16) {
            /* Re-check the last 64 bytes in place: flags depend only on earlier bytes, so the already
               checked part adds none, and nothing is read outside the buffer. */
            size_t s = len - 64;
            prev = LD(u + s - 16);
            a = LD(u + s); b = LD(u + s + 16); c = LD(u + s + 32); d = LD(u + s + 48);
            if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) {
                e = _mm_or_si128(_mm_or_si128(check(a, prev, &t), check(b, a, &t)),
                                 _mm_or_si128(check(c, b, &t), check(d, c, &t)));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        } else {
            /* Short input: zero-padded copy; flags past the real end (padding after an unfinished
               character) are masked off by position. */
            uint8_t buf[64];
            __m128i rem = _mm_set1_epi8((char)(len - i));
            memset(buf, 0, sizeof buf);
            memcpy(buf, u + i, len - i);
            a = LD(buf); b = LD(buf + 16); c = LD(buf + 32); d = LD(buf + 48);
            if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) == 0) {
                if (nonzero(pinc)) return wsf__utf8_resolve(u, len, i, pos);
            } else {
                e = _mm_or_si128(
                    _mm_or_si128(_mm_and_si128(check(a, prev, &t), _mm_cmpgt_epi8(rem, LD(IOTA))),
                                 _mm_and_si128(check(b, a, &t), _mm_cmpgt_epi8(rem, LD(IOTA + 16)))),
                    _mm_or_si128(_mm_and_si128(check(c, b, &t), _mm_cmpgt_epi8(rem, LD(IOTA + 32))),
                                 _mm_and_si128(check(d, c, &t), _mm_cmpgt_epi8(rem, LD(IOTA + 48)))));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        }
    }
    return wsf__utf8_finish(u, len, pos);
}

int wsf__utf8_ssse3(const uint8_t *p, size_t len, size_t *pos)
{
    return run(NULL, p, len, 0, NULL, 0, pos);
}

int wsf__fused_ssse3(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos)
{
    return run(dst, src, len, 1, key, phase, pos);
}
#endif
