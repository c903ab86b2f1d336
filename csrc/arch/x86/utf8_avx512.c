/* AVX-512 UTF-8 validation, lookup-table method (Keiser & Lemire 2021), one 64-byte vector per block.
   VBMI's two-source byte permute builds the "n bytes back" vectors in one instruction, and the tail is a
   masked (zero-filling, non-faulting) load with flags past the end masked off. */
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

/* thresholds: lane 63 >= C0, lane 62 >= E0, lane 61 >= F0 means an unfinished character at the end */
static const uint8_t INCOMPLETE[64] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0xEF, 0xDF, 0xBF};

struct tabs { __m512i t1h, t1l, t2h, nib, third, fourth, top, idx1, idx2, idx3, inc; };

static inline __m512i bcast16(const uint8_t *t)
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

/* error bits for the 64 bytes of `in`, given the 64 bytes before it. Index i - n (mod 256) picks in[i - n],
   or for i < n (bit 6 set) prev[64 + i - n]. */
static inline __m512i check(__m512i in, __m512i prev, const struct tabs *t)
{
    __m512i p1 = _mm512_permutex2var_epi8(in, t->idx1, prev);
    __m512i p2 = _mm512_permutex2var_epi8(in, t->idx2, prev);
    __m512i p3 = _mm512_permutex2var_epi8(in, t->idx3, prev);
    __m512i b1h = _mm512_shuffle_epi8(t->t1h, _mm512_and_si512(_mm512_srli_epi16(p1, 4), t->nib));
    __m512i b1l = _mm512_shuffle_epi8(t->t1l, _mm512_and_si512(p1, t->nib));
    __m512i b2h = _mm512_shuffle_epi8(t->t2h, _mm512_and_si512(_mm512_srli_epi16(in, 4), t->nib));
    __m512i must = _mm512_or_si512(_mm512_subs_epu8(p2, t->third), _mm512_subs_epu8(p3, t->fourth));
    __m512i sc = _mm512_ternarylogic_epi32(b1h, b1l, b2h, 0x80);   /* a & b & c */
    return _mm512_ternarylogic_epi32(sc, must, t->top, 0x78);      /* a ^ (b & c) */
}

/* lanes [0, n) for n < 64 */
static inline __mmask64 first_n(size_t n) { return (__mmask64)((UINT64_C(1) << n) - 1); }

int wsf__utf8_avx512(const uint8_t *p, size_t len, size_t *pos)
{
    struct tabs t;
    __m512i prev = _mm512_setzero_si512(), in, iota, e;
    __mmask64 pinc = 0;
    size_t i = 0;
    iota = _mm512_loadu_si512((const void *)IOTA);
    t.t1h = bcast16(TABS[0]); t.t1l = bcast16(TABS[1]); t.t2h = bcast16(TABS[2]);
    t.nib = _mm512_set1_epi8(0x0F); t.third = _mm512_set1_epi8(0x60); t.fourth = _mm512_set1_epi8(0x70);
    t.top = _mm512_set1_epi8((char)-128);
    t.idx1 = _mm512_sub_epi8(iota, _mm512_set1_epi8(1));
    t.idx2 = _mm512_sub_epi8(iota, _mm512_set1_epi8(2));
    t.idx3 = _mm512_sub_epi8(iota, _mm512_set1_epi8(3));
    t.inc = _mm512_loadu_si512((const void *)INCOMPLETE);
    for (; i + 64 <= len; i += 64) {
        __mmask64 err;
        in = _mm512_loadu_si512((const void *)(p + i));
        if (_mm512_movepi8_mask(in) == 0) {
            if (pinc) return wsf__utf8_resolve(p, len, i, pos);   /* lead byte then ASCII */
            prev = in;
            continue;
        }
        e = check(in, prev, &t);
        err = _mm512_test_epi8_mask(e, e);
        e = _mm512_subs_epu8(in, t.inc);
        pinc = _mm512_test_epi8_mask(e, e);
        prev = in;
        if (err) return wsf__utf8_resolve(p, len, i, pos);
    }
    if (i < len) {
        __mmask64 live = first_n(len - i);
        in = _mm512_maskz_loadu_epi8(live, p + i);
        if (_mm512_movepi8_mask(in) == 0) {
            if (pinc) return wsf__utf8_resolve(p, len, i, pos);
        } else {
            e = check(in, prev, &t);
            if (_mm512_mask_test_epi8_mask(live, e, e)) return wsf__utf8_resolve(p, len, i, pos);
        }
    }
    return wsf__utf8_finish(p, len, pos);
}
#endif
