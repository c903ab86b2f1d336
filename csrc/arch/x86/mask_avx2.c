/* AVX2 masking: dst aligned to 32 for large buffers (unaligned stores that split cache lines cost the most),
   128 bytes per iteration, then 32, then 16/8/4/2/1-byte steps for head and tail (no byte loops). */
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
        wsf__mask_short(dst, src, head, key, phase);
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
    wsf__mask_short(dst + i, src + i, len - i, key, phase + i);
}
#endif
