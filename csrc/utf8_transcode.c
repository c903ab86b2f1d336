/* Valid UTF-8 -> fixed-width code units (1, 2 or 4 bytes each), the three layouts of a CPython str.
   The input must already have passed wsf_utf8_validate: nothing is checked here but the bounds of both
   buffers, so invalid input gives wrong characters, never a read or write outside the buffers. */
#include "internal.h"

size_t wsf__measure_scalar(const uint8_t *p, size_t len, uint8_t *max_byte)
{
    /* (plain loops: compilers vectorise both reductions with the baseline instruction set) */
    size_t i, cont = 0;
    uint8_t m = 0;
    for (i = 0; i < len; i++) {
        m = p[i] > m ? p[i] : m;
        cont += (p[i] & 0xC0) == 0x80;
    }
    *max_byte = m;
    return len - cont;
}

/* One decoder, three output widths. ASCII runs go 8 bytes a step. */
#define WSF_DEFINE_TO_UCS(NAME, T)                                                                    \
    size_t NAME(void *out, size_t cap, const uint8_t *p, size_t len)                                  \
    {                                                                                                 \
        T *d = (T *)out;                                                                              \
        size_t i = 0, o = 0;                                                                          \
        while (i < len && o < cap) {                                                                  \
            uint32_t c = p[i];                                                                        \
            size_t n;                                                                                 \
            if (c < 0x80) {                                                                           \
                while (i + 8 <= len && o + 8 <= cap) {                                                \
                    uint64_t w;                                                                       \
                    int k;                                                                            \
                    memcpy(&w, p + i, 8);                                                             \
                    if (w & UINT64_C(0x8080808080808080)) break;                                      \
                    for (k = 0; k < 8; k++) d[o + k] = (T)p[i + k];                                   \
                    i += 8;                                                                           \
                    o += 8;                                                                           \
                }                                                                                     \
                if (i < len && o < cap && p[i] < 0x80) d[o++] = (T)p[i++];                            \
                continue;                                                                             \
            }                                                                                         \
            n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;                                                      \
            if (n > len - i) break;                                                                   \
            if (n == 2) c = ((c & 0x1F) << 6) | (p[i + 1] & 0x3Fu);                                   \
            else if (n == 3) c = ((c & 0x0F) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu); \
            else c = ((c & 0x07) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |   \
                     (p[i + 3] & 0x3Fu);                                                              \
            d[o++] = (T)c;                                                                            \
            i += n;                                                                                   \
        }                                                                                             \
        return o;                                                                                     \
    }

WSF_DEFINE_TO_UCS(wsf__to_ucs1_scalar, uint8_t)
WSF_DEFINE_TO_UCS(wsf__to_ucs2_scalar, uint16_t)
WSF_DEFINE_TO_UCS(wsf__to_ucs4_scalar, uint32_t)

size_t wsf_utf8_measure(const uint8_t *p, size_t len, uint8_t *max_byte)
{
    if (len == 0) {
        *max_byte = 0;
        return 0;
    }
    return wsf__transcoder()->measure(p, len, max_byte);
}

size_t wsf_utf8_to_ucs(void *dst, size_t cap, int width, const uint8_t *p, size_t len)
{
    const struct wsf_transcoder *t = wsf__transcoder();
    if (len == 0 || cap == 0) return 0;
    if (width == 1) return t->to_ucs1(dst, cap, p, len);
    if (width == 2) return t->to_ucs2(dst, cap, p, len);
    if (width == 4) return t->to_ucs4(dst, cap, p, len);
    return 0;
}
