/* Unmask + validate in one pass: unmask an L1-sized block, then validate it while it is still hot. */
#include "internal.h"

#define WSF_FUSE_BLOCK 8192   /* well inside L1d on every target; the per-block call overhead is noise */

int wsf_unmask_utf8(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                    wsf_utf8_state *st, size_t *err)
{
    size_t off = 0, e = 0;
    int ok;
    if (len == 0) return wsf_utf8_feed(st, dst, 0, err);   /* reports a failed state; no pointer is used */
    ok = 1;
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
