/* libFuzzer: the valid-UTF-8 transcoders. For valid input, every kernel set the CPU can run (scalar, avx2,
   avx512, avx512vbmi2), at every output width that holds the text, gives the characters of a byte-wise
   reference decoder, and wsf_utf8_measure the count and largest byte. For any input, nothing is read or
   written out of bounds (exact-size buffers, ASan) and at most cap characters are written. Input: the text. */
#include <stdlib.h>
#include <string.h>
#include "../internal.h"
#include "ref_utf8.h"

static size_t ref_decode(uint32_t *out, const uint8_t *p, size_t len)
{
    size_t i = 0, n = 0, j, k;
    while (i < len) {
        uint32_t c = p[i];
        k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (c >= 0x80) c &= 0x7Fu >> k;
        for (j = 1; j < k; j++) c = (c << 6) | (p[i + j] & 0x3Fu);
        out[n++] = c;
        i += k;
    }
    return n;
}

static uint32_t unit(const void *buf, int width, size_t i)
{
    if (width == 1) return ((const uint8_t *)buf)[i];
    if (width == 2) return ((const uint16_t *)buf)[i];
    return ((const uint32_t *)buf)[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wsf_to_ucs_fn sets[4][3] = {
        {wsf__to_ucs1_scalar, wsf__to_ucs2_scalar, wsf__to_ucs4_scalar},
#if WSF_HAVE_AVX2
        {wsf__to_ucs1_avx2, wsf__to_ucs2_avx2, NULL},
#else
        {NULL, NULL, NULL},
#endif
#if WSF_HAVE_AVX512
        {wsf__to_ucs1_avx512, wsf__to_ucs2_avx512, wsf__to_ucs4_avx512},
#else
        {NULL, NULL, NULL},
#endif
#if WSF_HAVE_AVX512VBMI2
        {wsf__to_ucs1_avx512vbmi2, wsf__to_ucs2_avx512vbmi2, NULL},
#else
        {NULL, NULL, NULL},
#endif
    };
    int usable[4] = {1, 0, 0, wsf__cpu_has_vbmi2()};
    const char *paths[8];
    int np = wsf_list_paths(WSF_PRIM_UTF8, paths, 8), i, s, wi, w;
    uint8_t *p = malloc(size ? size : 1), m = 0;
    uint32_t *want = malloc((size ? size : 1) * 4);
    int ok = ref(data, size) == -1;
    size_t n = 0, j;
    for (i = 0; i < np; i++) {
        usable[1] |= strcmp(paths[i], "avx2") == 0;
        usable[2] |= strcmp(paths[i], "avx512") == 0;
    }
    memcpy(p, data, size);
    if (ok) n = ref_decode(want, p, size);
    for (s = 0; s < 4; s++) {
        if (!usable[s]) continue;
        for (wi = 0, w = 1; wi < 3; wi++, w *= 2) {
            size_t cap = ok ? n : size, got;
            void *out;
            if (!sets[s][wi]) continue;
            out = malloc(cap ? cap * (size_t)w : 1);   /* exact size */
            got = sets[s][wi](out, cap, p, size);
            if (got > cap) abort();
            if (ok) {
                uint8_t mb;
                if (wsf__measure_scalar(p, size, &mb) != n) abort();
                if (wsf_utf8_measure(p, size, &m) != n || m != mb) abort();
                if (w >= (mb >= 0xF0 ? 4 : mb >= 0xC4 ? 2 : 1)) {
                    if (got != n) abort();
                    for (j = 0; j < n; j++)
                        if (unit(out, w, j) != want[j]) abort();
                }
            }
            free(out);
        }
    }
    free(p);
    free(want);
    return 0;
}
