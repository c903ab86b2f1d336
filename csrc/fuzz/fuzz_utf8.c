/* libFuzzer: every UTF-8 path agrees with a byte-wise reference, one-shot and fed in two pieces at a
   fuzzer-chosen split, and the fused unmask+validate agrees too (two pieces out of place, one piece in place).
   Input: [split byte][text...]. */
#include <stdlib.h>
#include <string.h>
#include "../internal.h"

#include "ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *paths[8];
    int n, i;
    size_t len, split;
    uint8_t *p, *masked, *out;
    long r;
    static const uint8_t key[4] = {0xA5, 0x01, 0xFF, 0x3C};
    if (size < 1) return 0;
    len = size - 1;
    split = len ? ((size_t)data[0] * (len + 1)) / 256 : 0;
    p = malloc(len ? len : 1);   /* exact size: ASan sees any over-read */
    masked = malloc(len ? len : 1);
    out = malloc(len ? len : 1);
    memcpy(p, data + 1, len);
    for (i = 0; i < (int)len; i++) masked[i] = p[i] ^ key[(i + 3) & 3];
    r = ref(p, len);
    n = wsf_list_paths(WSF_PRIM_UTF8, paths, 8);
    for (i = 0; i < n; i++) {
        size_t err = 0, e1 = 0, e2 = 0;
        int v, ok;
        wsf_utf8_state st;
        if (wsf_set_path(WSF_PRIM_UTF8, paths[i]) != 0) abort();
        v = wsf_utf8_validate(p, len, &err);
        if (r == -1 && v != 1) abort();
        if (r == -2 && (v != 0 || err != len)) abort();
        if (r >= 0 && (v != 0 || err != (size_t)r)) abort();
        /* two pieces */
        wsf_utf8_init(&st);
        ok = wsf_utf8_feed(&st, p, split, &e1);
        if (ok) {
            ok = wsf_utf8_feed(&st, p + split, len - split, &e2);
            e1 = split + e2;
        }
        if (r >= 0 ? (ok || e1 != (size_t)r) : (!ok || wsf_utf8_complete(&st) != (r == -1))) abort();
        /* fused, in two pieces, phase carried */
        wsf_utf8_init(&st);
        ok = wsf_unmask_utf8(out, masked, split, key, 3, &st, &e1);
        if (!ok) (void)wsf_unmask_utf8(out + split, masked + split, len - split, key, 3 + split, &st, &e2);
        else {
            ok = wsf_unmask_utf8(out + split, masked + split, len - split, key, 3 + split, &st, &e2);
            e1 = split + e2;
        }
        if (memcmp(out, p, len) != 0) abort();
        if (r >= 0 ? (ok || e1 != (size_t)r) : (!ok || wsf_utf8_complete(&st) != (r == -1))) abort();
        /* fused, one piece, in place */
        memcpy(out, masked, len);
        wsf_utf8_init(&st);
        ok = wsf_unmask_utf8(out, out, len, key, 3, &st, &e1);
        if (memcmp(out, p, len) != 0) abort();
        if (r >= 0 ? (ok || e1 != (size_t)r) : (!ok || wsf_utf8_complete(&st) != (r == -1))) abort();
    }
    wsf_set_path(WSF_PRIM_UTF8, NULL);
    free(p); free(masked); free(out);
    return 0;
}
