/* AVX2 masking: dst aligned to 32 for large buffers (unaligned stores that split cache lines cost the most),
   128 bytes per iteration, then 32, then a 16/8-byte step and bytes for the tail. */
#include "../../internal.h"

#if WSF_HAVE_AVX2
#if WSF_NEEDS_ISA_FLAGS && !defined(__AVX2__)
#  error "compile with -mavx2"
#endif
#include <immintrin.h>

void wsf__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i = 0;
    __m256i k;
    if (len >= 256) {
        size_t head = (size_t)(-(uintptr_t)dst & 31);
        wsf__mask_bytes(dst, src, head, key, phase);
        i = head;
    }
    k = _mm256_set1_epi32((int)wsf__key_word(key, phase + i));
    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= len; i += 32)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k));
    if (i + 16 <= len) {
        __m128i w = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(w, _mm256_castsi256_si128(k)));
        i += 16;
    }
    if (i + 8 <= len) {
        __m128i w = _mm_loadl_epi64((const __m128i *)(src + i));
        _mm_storel_epi64((__m128i *)(dst + i), _mm_xor_si128(w, _mm256_castsi256_si128(k)));
        i += 8;
    }
    wsf__mask_bytes(dst + i, src + i, len - i, key, phase + i);
}
#endif
