/* Unmask + validate in one pass. With a fused SIMD kernel (the selected UTF-8 path has one), each block is
   unmasked in registers, stored, and validated from the same registers. Otherwise: unmask an L1-sized block,
   then validate it while it is still hot. dst is always fully written. */
#include "internal.h"

#define WSF_FUSE_BLOCK 8192   /* well inside L1d on every target; the per-block call overhead is noise */

static int blockwise(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                     wsf_utf8_state *st, size_t *err)
{
    size_t off = 0, e = 0;
    int ok = 1;
    while (off < len) {
        size_t n = len - off < WSF_FUSE_BLOCK ? len - off : WSF_FUSE_BLOCK;
        wsf_mask(dst + off, src + off, n, key, phase + off);
        if (ok) {
            size_t ce = 0;
            if (!wsf_utf8_feed(st, dst + off, n, &ce)) {
                ok = 0;                 /* keep unmasking: dst must be fully written */
                e = off + ce;
            }
        }
        off += n;
    }
    if (!ok && err) *err = e;
    return ok;
}

int wsf_unmask_utf8(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                    wsf_utf8_state *st, size_t *err)
{
    wsf_fused_fn fused;
    size_t i, used, pos, e = 0;
    if (len == 0) return wsf_utf8_feed(st, dst, 0, err);   /* reports a failed state; no pointer is used */
    fused = wsf__fused_kernel();
    if (!fused || (st->opaque[0] & WSF_U8ST_FAILED)) return blockwise(dst, src, len, key, phase, st, err);
    /* unmask exactly the bytes that finish a pending character, and finish it */
    i = wsf__u8st_want(st);
    if (i > len) i = len;
    if (i) {
        wsf_mask(dst, src, i, key, phase);
        if (!wsf__u8st_head(st, dst, i, &used, &e)) {
            wsf_mask(dst + i, src + i, len - i, key, phase + i);
            if (err) *err = e;
            return 0;
        }
        if (i == len) return 1;
    }
    if (!fused(dst + i, src + i, len - i, key, phase + i, &pos)) return wsf__u8st_fail(st, err, i + pos);
    return wsf__u8st_tail(st, dst + i + pos, len - i - pos, err, i + pos);
}
