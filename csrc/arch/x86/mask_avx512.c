/* AVX-512 masking: a masked head aligns dst to 64 (split-line 64-byte stores halve throughput), 256 bytes per
   iteration, and a masked load/store for the tail: masked-off bytes are neither read nor written (no fault). */
#include "../../internal.h"

#if WSF_HAVE_AVX512
#if WSF_NEEDS_ISA_FLAGS && !(defined(__AVX512F__) && defined(__AVX512BW__))
#  error "compile with -mavx512f -mavx512bw"
#endif
#include <immintrin.h>

/* lanes [0, n) for n < 64 */
static inline __mmask64 first_n(size_t n) { return (__mmask64)((UINT64_C(1) << n) - 1); }

void wsf__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i = 0;
    __m512i k = _mm512_set1_epi32((int)wsf__key_word(key, phase));
    if (len >= 512) {
        size_t head = (size_t)(-(uintptr_t)dst & 63);
        if (head) {
            __mmask64 m = first_n(head);
            _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), k));
            i = head;
            k = _mm512_set1_epi32((int)wsf__key_word(key, phase + i));
        }
        for (; i + 256 <= len; i += 256) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i));
            __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
            __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
            __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
            _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
            _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
            _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
            _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
        }
    }
    for (; i + 64 <= len; i += 64)
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), k));
    if (i < len) {
        __mmask64 m = first_n(len - i);
        _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), k));
    }
}
#endif
