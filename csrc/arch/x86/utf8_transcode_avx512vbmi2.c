/* AVX-512 VBMI2 valid-UTF-8 transcoder for text of 1- and 2-byte code units (no 4-byte character): 16-bit
   lanes, so one vector computes 32 positions, twice the work per instruction of the 32-bit kernel of
   utf8_transcode_avx512.c; VBMI2's 16-bit compress packs the character starts together. Same method and
   contract otherwise (see there). Needs AVX-512 F/BW/VL/VBMI2. */
#include "../../internal.h"

#if WSF_HAVE_AVX512VBMI2
#if WSF_NEEDS_ISA_FLAGS && !(defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VBMI2__))
#  error "compile with -mavx512f -mavx512bw -mavx512vl -mavx512vbmi2"
#endif
#include <immintrin.h>

/* Code units (<= U+FFFF) of characters starting at each of p[0..31]; reads p[0..33]. */
static inline __m512i code_units32(const uint8_t *p)
{
    const __m512i m63 = _mm512_set1_epi16(0x3F);
    __m512i b0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)p));
    __m512i t1 = _mm512_and_si512(_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(p + 1))), m63);
    __m512i t2 = _mm512_and_si512(_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(p + 2))), m63);
    __mmask32 two = _mm512_cmpge_epu16_mask(b0, _mm512_set1_epi16(0xC0));
    __mmask32 three = _mm512_cmpge_epu16_mask(b0, _mm512_set1_epi16(0xE0));
    __m512i c2 = _mm512_or_si512(_mm512_slli_epi16(_mm512_and_si512(b0, _mm512_set1_epi16(0x1F)), 6), t1);
    /* (b0 << 12 keeps the low 4 bits of a 3-byte lead: the lane is 16 bits wide) */
    __m512i c3 = _mm512_or_si512(_mm512_slli_epi16(b0, 12), _mm512_or_si512(_mm512_slli_epi16(t1, 6), t2));
    return _mm512_mask_mov_epi16(_mm512_mask_mov_epi16(b0, two, c2), three, c3);
}

/* Positions of p[0..31] where a character starts. */
static inline __mmask32 starts32(const uint8_t *p)
{
    return _mm256_cmpgt_epi8_mask(_mm256_loadu_si256((const __m256i *)p), _mm256_set1_epi8(-65));
}

/* Whole 64-byte blocks with 3 readable bytes after them and room for 64 characters, so every store below
   (at most 64 bytes of units) stays inside dst; the bytes past the characters a store holds are rewritten
   by the next store or are past the last character. */
#define WSF_TRANSCODE16_LOOP(T, ASCII64, STORE32)                                                     \
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
        for (q = 0; q < 64; q += 32) {                                                                \
            __mmask32 s = starts32(p + i + q);                                                        \
            __m512i c = _mm512_maskz_compress_epi16(s, code_units32(p + i + q));                      \
            STORE32;                                                                                  \
            o += (unsigned)_mm_popcnt_u32(s);                                                         \
        }                                                                                             \
        i += 64;                                                                                      \
    }                                                                                                 \
    while (i < len && (p[i] & 0xC0) == 0x80) i++; /* the rest of a character already written */       \
    return o + FINISH((void *)(d + o), cap - o, p + i, len - i)

size_t wsf__to_ucs1_avx512vbmi2(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs1_scalar
    WSF_TRANSCODE16_LOOP(uint8_t, _mm512_storeu_si512((void *)(d + o), v),
                         _mm256_storeu_si256((__m256i *)(d + o), _mm512_cvtepi16_epi8(c)));
#undef FINISH
}

size_t wsf__to_ucs2_avx512vbmi2(void *out, size_t cap, const uint8_t *p, size_t len)
{
#define FINISH wsf__to_ucs2_scalar
    WSF_TRANSCODE16_LOOP(uint16_t,
                         (_mm512_storeu_si512((void *)(d + o), _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v))),
                          _mm512_storeu_si512((void *)(d + o + 32),
                                              _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1)))),
                         _mm512_storeu_si512((void *)(d + o), c));
#undef FINISH
}
#endif /* WSF_HAVE_AVX512VBMI2 */
