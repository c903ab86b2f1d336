/* AVX2 valid-UTF-8 transcoder for text of 1- and 2-byte code units (no 4-byte character). 16 input bytes a
   step: the byte at each position and the two after it are widened to 16-bit lanes, each lane computes the
   code unit of a character starting there (as if it did), and the lanes where a character really starts are
   packed together 8 lanes at a time with a pshufb mask from a 256-row table (AVX2 has no compress). A 32-byte
   run of ASCII is widened at once. Same contract as utf8_transcode_avx512.c. */
#include "../../internal.h"

#if WSF_HAVE_AVX2
#if WSF_NEEDS_ISA_FLAGS && !defined(__AVX2__)
#  error "compile with -mavx2"
#endif
#include <immintrin.h>
#include "compress16_table.h"

size_t wsf__measure_avx2(const uint8_t *p, size_t len, uint8_t *max_byte)
{
    __m256i m = _mm256_setzero_si256();
    const __m256i cont_max = _mm256_set1_epi8(-65);   /* 0x80..0xBF are -128..-65 as signed bytes */
    size_t i = 0, lead = 0;
    uint8_t lanes[32], mx = 0;
    int j;
    for (; i + 32 <= len; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
        m = _mm256_max_epu8(m, v);
        lead += (size_t)_mm_popcnt_u32((unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, cont_max)));
    }
    _mm256_storeu_si256((__m256i *)lanes, m);
    for (j = 0; j < 32; j++) mx = lanes[j] > mx ? lanes[j] : mx;
    for (; i < len; i++) {
        mx = p[i] > mx ? p[i] : mx;
        lead += (p[i] & 0xC0) != 0x80;
    }
    *max_byte = mx;
    return lead;
}

/* Code units (<= U+FFFF) of characters starting at each of p[0..15]; reads p[0..17]. */
static inline __m256i code_units16(const uint8_t *p)
{
    const __m256i m63 = _mm256_set1_epi16(0x3F);
    __m256i b0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p));
    __m256i t1 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 1))), m63);
    __m256i t2 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 2))), m63);
    __m256i two = _mm256_cmpgt_epi16(b0, _mm256_set1_epi16(0xBF));     /* lanes hold 0..255: signed is fine */
    __m256i three = _mm256_cmpgt_epi16(b0, _mm256_set1_epi16(0xDF));
    __m256i c2 = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(b0, _mm256_set1_epi16(0x1F)), 6), t1);
    /* (b0 << 12 keeps the low 4 bits of a 3-byte lead: the lane is 16 bits wide) */
    __m256i c3 = _mm256_or_si256(_mm256_slli_epi16(b0, 12), _mm256_or_si256(_mm256_slli_epi16(t1, 6), t2));
    return _mm256_blendv_epi8(_mm256_blendv_epi8(b0, c2, two), c3, three);
}

/* The 8 lanes of v selected by m, packed to the front (the rest zero). */
static inline __m128i pack8(__m128i v, unsigned m)
{
    return _mm_shuffle_epi8(v, _mm_loadu_si128((const __m128i *)wsf__compress16_table[m]));
}

/* Whole 64-byte blocks with 3 readable bytes after them and room for 64 characters, so every store below
   (at most 16 bytes) stays inside dst; bytes past the characters a store holds are rewritten by the next
   store or are past the last character. */
#define WSF_TRANSCODE_AVX2_LOOP(T, ASCII32, STORE8)                                                   \
    T *d = (T *)out;                                                                                  \
    size_t i = 0, o = 0;                                                                              \
    while (i + 67 <= len && cap - o >= 64) {                                                          \
        int q;                                                                                        \
        for (q = 0; q < 64; q += 32) {                                                                \
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + i + q));                             \
            int r;                                                                                    \
            if (!_mm256_movemask_epi8(v)) {                                                           \
                ASCII32;                                                                              \
                o += 32;                                                                              \
                continue;                                                                             \
            }                                                                                         \
            for (r = q; r < q + 32; r += 16) {                                                        \
                unsigned s = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(                              \
                    _mm_loadu_si128((const __m128i *)(p + i + r)), _mm_set1_epi8(-65)));              \
                __m256i c = code_units16(p + i + r);                                                  \
                __m128i lo = pack8(_mm256_castsi256_si128(c), s & 0xFF);                              \
                __m128i hi = pack8(_mm256_extracti128_si256(c, 1), s >> 8);                           \
                STORE8(lo);                                                                           \
                o += (unsigned)_mm_popcnt_u32(s & 0xFF);                                              \
                STORE8(hi);                                                                           \
                o += (unsigned)_mm_popcnt_u32(s >> 8);                                                \
            }                                                                                         \
        }                                                                                             \
        i += 64;                                                                                      \
    }                                                                                                 \
    while (i < len && (p[i] & 0xC0) == 0x80) i++; /* the rest of a character already written */       \
    return o + FINISH((void *)(d + o), cap - o, p + i, len - i)

#define STORE_UCS1(x) _mm_storel_epi64((__m128i *)(d + o), _mm_packus_epi16((x), (x)))
#define STORE_UCS2(x) _mm_storeu_si128((__m128i *)(d + o), (x))

size_t wsf__to_ucs1_avx2(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs1_scalar
    WSF_TRANSCODE_AVX2_LOOP(uint8_t, _mm256_storeu_si256((__m256i *)(d + o), v), STORE_UCS1);
#undef FINISH
}

size_t wsf__to_ucs2_avx2(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs2_scalar
    WSF_TRANSCODE_AVX2_LOOP(uint16_t,
                            (_mm256_storeu_si256((__m256i *)(d + o),
                                                 _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v))),
                             _mm256_storeu_si256((__m256i *)(d + o + 16),
                                                 _mm256_cvtepu8_epi16(_mm256_extracti128_si256(v, 1)))),
                            STORE_UCS2);
#undef FINISH
}
#endif /* WSF_HAVE_AVX2 */
