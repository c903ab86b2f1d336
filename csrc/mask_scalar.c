/* Portable masking: 64-bit words through memcpy (unaligned-safe, endian-neutral), 8/4/2/1 steps for the tail. */
#include "internal.h"

void wsf__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i = 0;
    if (len >= 16) {
        /* The key repeats every 4 bytes, so the same 8-byte pattern applies at every multiple of 8. */
        uint32_t k32 = wsf__key_word(key, phase);
        uint64_t k;
        uint8_t kb[8];
        memcpy(kb, &k32, 4);
        memcpy(kb + 4, &k32, 4);
        memcpy(&k, kb, 8);
        for (; i + 32 <= len; i += 32) {
            uint64_t w[4];
            memcpy(w, src + i, 32);    /* load all before storing: correct when dst == src */
            w[0] ^= k; w[1] ^= k; w[2] ^= k; w[3] ^= k;
            memcpy(dst + i, w, 32);
        }
        for (; i + 8 <= len; i += 8) {
            uint64_t w;
            memcpy(&w, src + i, 8);
            w ^= k;
            memcpy(dst + i, &w, 8);
        }
    }
    wsf__mask_short(dst + i, src + i, len - i, key, phase + i);
}
