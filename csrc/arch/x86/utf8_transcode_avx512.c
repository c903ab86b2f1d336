/* AVX-512 valid-UTF-8 transcoder. 16 input bytes a step: the byte at each position and the three after it
   are widened to 32-bit lanes, each lane computes the code point of a character starting there (as if it
   did), and the lanes where a character really starts (not a continuation byte) are compressed together and
   narrowed to the output width. A 64-byte block of ASCII is widened at once. Needs AVX-512 F/BW/VL. */
#include "../../internal.h"

#if WSF_HAVE_AVX512
#if WSF_NEEDS_ISA_FLAGS && !(defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__))
#  error "compile with -mavx512f -mavx512bw -mavx512vl"
#endif
#include <immintrin.h>

size_t wsf__measure_avx512(const uint8_t *p, size_t len, uint8_t *max_byte)
{
    __m512i m = _mm512_setzero_si512();
    const __m512i cont_max = _mm512_set1_epi8(-65);   /* 0x80..0xBF are -128..-65 as signed bytes */
    size_t i = 0, lead = 0;
    uint8_t tail[64];
    for (; i + 64 <= len; i += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(p + i));
        m = _mm512_max_epu8(m, v);
        lead += (size_t)_mm_popcnt_u64(_mm512_cmpgt_epi8_mask(v, cont_max));
    }
    if (i < len) {
        __mmask64 k = (__mmask64)((UINT64_C(1) << (len - i)) - 1);
        __m512i v = _mm512_maskz_loadu_epi8(k, p + i);   /* masked-off bytes are 0: not continuation */
        m = _mm512_max_epu8(m, v);
        lead += (size_t)_mm_popcnt_u64(_mm512_cmpgt_epi8_mask(v, cont_max) & k);
    }
    _mm512_storeu_si512((void *)tail, m);
    {
        uint8_t mx = 0;
        int j;
        for (j = 0; j < 64; j++) mx = tail[j] > mx ? tail[j] : mx;
        *max_byte = mx;
    }
    return lead;
}

/* Code points of characters starting at each of p[0..15] (lanes of a non-start byte hold garbage). Reads
   p[0..18]. */
static inline __m512i code_points16(const uint8_t *p)
{
    const __m512i m63 = _mm512_set1_epi32(0x3F);
    __m512i b0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
    __m512i t1 = _mm512_and_si512(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 1))), m63);
    __m512i t2 = _mm512_and_si512(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))), m63);
    __m512i t3 = _mm512_and_si512(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 3))), m63);
    __mmask16 two = _mm512_cmpge_epu32_mask(b0, _mm512_set1_epi32(0xC0));
    __mmask16 three = _mm512_cmpge_epu32_mask(b0, _mm512_set1_epi32(0xE0));
    __mmask16 four = _mm512_cmpge_epu32_mask(b0, _mm512_set1_epi32(0xF0));
    __m512i c2 = _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, _mm512_set1_epi32(0x1F)), 6), t1);
    __m512i c3 = _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, _mm512_set1_epi32(0x0F)), 12),
                                 _mm512_or_si512(_mm512_slli_epi32(t1, 6), t2));
    __m512i c4 = _mm512_or_si512(
        _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b0, _mm512_set1_epi32(0x07)), 18),
                        _mm512_slli_epi32(t1, 12)),
        _mm512_or_si512(_mm512_slli_epi32(t2, 6), t3));
    __m512i r = _mm512_mask_mov_epi32(b0, two, c2);
    r = _mm512_mask_mov_epi32(r, three, c3);
    return _mm512_mask_mov_epi32(r, four, c4);
}

/* Positions of p[0..15] where a character starts. */
static inline __mmask16 starts16(const uint8_t *p)
{
    return _mm_cmpgt_epi8_mask(_mm_loadu_si128((const __m128i *)p), _mm_set1_epi8(-65));
}

/* Whole 64-byte blocks with 3 readable bytes after them and room for 64 characters, so every store below
   (16 units) stays inside dst; the units past the characters a store holds are rewritten by the next store
   or are past the last character. The scalar code finishes from the next character start. */
#define WSF_TRANSCODE_LOOP(T, ASCII64, STORE16)                                                       \
    T *d = (T *)out;                                                                                  \
    size_t i = 0, o = 0;                                                                              \
    while (i + 67 <= len && cap - o >= 64) {                                                          \
        __m512i v = _mm512_loadu_si512((const void *)(p + i));                                        \
        int q;                                                                                        \
        if (!_mm512_movepi8_mask(v)) {                                                                \
            ASCII64;                                                                                  \
            i += 64;                                                                                  \
            o += 64;                                                                                  \
            continue;                                                                                 \
        }                                                                                             \
        for (q = 0; q < 64; q += 16) {                                                                \
            __mmask16 s = starts16(p + i + q);                                                        \
            __m512i c = _mm512_maskz_compress_epi32(s, code_points16(p + i + q));                     \
            unsigned k = (unsigned)_mm_popcnt_u32(s);                                                 \
            STORE16;                                                                                  \
            o += k;                                                                                   \
        }                                                                                             \
        i += 64;                                                                                      \
    }                                                                                                 \
    while (i < len && (p[i] & 0xC0) == 0x80) i++; /* the rest of a character already written */       \
    return o + FINISH((void *)(d + o), cap - o, p + i, len - i)

size_t wsf__to_ucs1_avx512(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs1_scalar
    WSF_TRANSCODE_LOOP(uint8_t, _mm512_storeu_si512((void *)(d + o), v),
                       _mm_storeu_si128((__m128i *)(d + o), _mm512_cvtepi32_epi8(c)));
#undef FINISH
}

size_t wsf__to_ucs2_avx512(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs2_scalar
    WSF_TRANSCODE_LOOP(uint16_t,
                       (_mm512_storeu_si512((void *)(d + o), _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v))),
                        _mm512_storeu_si512((void *)(d + o + 32),
                                            _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1)))),
                       _mm256_storeu_si256((__m256i *)(d + o), _mm512_cvtepi32_epi16(c)));
#undef FINISH
}

size_t wsf__to_ucs4_avx512(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs4_scalar
    WSF_TRANSCODE_LOOP(uint32_t,
                       (_mm512_storeu_si512((void *)(d + o), _mm512_cvtepu8_epi32(_mm512_castsi512_si128(v))),
                        _mm512_storeu_si512((void *)(d + o + 16),
                                            _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 1))),
                        _mm512_storeu_si512((void *)(d + o + 32),
                                            _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 2))),
                        _mm512_storeu_si512((void *)(d + o + 48),
                                            _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 3)))),
                       _mm512_storeu_si512((void *)(d + o), c));
#undef FINISH
}
#endif /* WSF_HAVE_AVX512 */
