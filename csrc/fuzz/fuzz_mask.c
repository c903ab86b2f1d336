/* libFuzzer: every masking path equals the byte loop, in place and out of place, at fuzzer-chosen
   alignments and phase. Input: [key 4][phase][src align][dst align][payload...]. */
#include <stdlib.h>
#include <string.h>
#include "../internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *paths[8];
    uint8_t key[4], *src, *dst, *ref;
    size_t len, phase, sa, da, i;
    int n, k;
    if (size < 7) return 0;
    memcpy(key, data, 4);
    phase = data[4];
    sa = data[5] & 63;
    da = data[6] & 63;
    len = size - 7;
    src = malloc(sa + len + 1);   /* payload ends exactly at the end of the allocation */
    dst = malloc(da + len + 1);
    ref = malloc(len + 1);
    memcpy(src + sa, data + 7, len);
    for (i = 0; i < len; i++) ref[i] = data[7 + i] ^ key[(phase + i) & 3];
    n = wsf_list_paths(WSF_PRIM_MASK, paths, 8);
    for (k = 0; k < n; k++) {
        wsf_mask_fn fn;
        if (wsf_set_path(WSF_PRIM_MASK, paths[k]) != 0) abort();
        fn = wsf__mask_kernel();
        /* dst ends where its allocation (minus the spare byte) ends */
        wsf_mask(dst + da, src + sa, len, key, phase);
        if (memcmp(dst + da, ref, len) != 0) abort();
        fn(dst + da, src + sa, len, key, phase);
        if (memcmp(dst + da, ref, len) != 0) abort();
        memcpy(dst + da, data + 7, len);
        fn(dst + da, dst + da, len, key, phase);
        if (memcmp(dst + da, ref, len) != 0) abort();
    }
    wsf_set_path(WSF_PRIM_MASK, NULL);
    free(src); free(dst); free(ref);
    return 0;
}
