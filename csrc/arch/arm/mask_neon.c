/* NEON masking: 64 bytes per iteration, then 16, then 8/4/2/1-byte steps. */
#include "../../internal.h"

#if WSF_HAVE_NEON
#include <arm_neon.h>

void wsf__mask_neon(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i = 0;
    uint8x16_t k = vreinterpretq_u8_u32(vdupq_n_u32(wsf__key_word(key, phase)));
    for (; i + 64 <= len; i += 64) {
        uint8x16_t a = vld1q_u8(src + i), b = vld1q_u8(src + i + 16);
        uint8x16_t c = vld1q_u8(src + i + 32), d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, k));
        vst1q_u8(dst + i + 16, veorq_u8(b, k));
        vst1q_u8(dst + i + 32, veorq_u8(c, k));
        vst1q_u8(dst + i + 48, veorq_u8(d, k));
    }
    for (; i + 16 <= len; i += 16) vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    wsf__mask_short(dst + i, src + i, len - i, key, phase + i);
}
#endif
