/* SSE2 masking: 64 bytes per iteration with unaligned loads/stores, 8/4/2/1-byte steps for the tail. */
#include "../../internal.h"

#if WSF_HAVE_SSE2
#if WSF_NEEDS_ISA_FLAGS && !defined(__SSE2__)
#  error "compile with -msse2"
#endif
#include <emmintrin.h>

void wsf__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i = 0;
    __m128i k = _mm_set1_epi32((int)wsf__key_word(key, phase));
    for (; i + 64 <= len; i += 64) {
        /* all loads before all stores: correct in place */
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= len; i += 16)
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), k));
    wsf__mask_short(dst + i, src + i, len - i, key, phase + i);
}
#endif
