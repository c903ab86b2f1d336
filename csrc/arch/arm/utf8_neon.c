/* NEON UTF-8 validation (and fused unmask+validate), lookup-table method (Keiser & Lemire 2021); same structure as arch/x86/utf8_ssse3.c
   with TBL for the nibble lookups and EXT for the "previous bytes" vectors. */
#include "../../internal.h"

#if WSF_HAVE_NEON
#include <arm_neon.h>

static const uint8_t T1H[16] = {WSF_U8_T1H_BYTES};
static const uint8_t T1L[16] = {WSF_U8_T1L_BYTES};
static const uint8_t T2H[16] = {WSF_U8_T2H_BYTES};
static const uint8_t INCOMPLETE[16] = {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                       0xEF, 0xDF, 0xBF};
static const uint8_t IOTA[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

struct tabs { uint8x16_t t1h, t1l, t2h, nib, third, fourth, top; };

static inline uint8x16_t check(uint8x16_t in, uint8x16_t prev, const struct tabs *t)
{
    uint8x16_t p1 = vextq_u8(prev, in, 15), p2 = vextq_u8(prev, in, 14), p3 = vextq_u8(prev, in, 13);
    uint8x16_t b1h = vqtbl1q_u8(t->t1h, vshrq_n_u8(p1, 4));
    uint8x16_t b1l = vqtbl1q_u8(t->t1l, vandq_u8(p1, t->nib));
    uint8x16_t b2h = vqtbl1q_u8(t->t2h, vshrq_n_u8(in, 4));
    uint8x16_t sc = vandq_u8(vandq_u8(b1h, b1l), b2h);
    uint8x16_t must = vorrq_u8(vqsubq_u8(p2, t->third), vqsubq_u8(p3, t->fourth));
    return veorq_u8(sc, vandq_u8(must, t->top));
}

static inline int nonzero(uint8x16_t v) { return vmaxvq_u8(v) != 0; }
static inline int ascii4(uint8x16_t a, uint8x16_t b, uint8x16_t c, uint8x16_t d)
{
    return vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d))) < 0x80;
}

/* Error in the block at i: in fused mode the rest of dst is unmasked before the scalar locator reads it. */
static int fail_at(uint8_t *dst, const uint8_t *src, size_t len, size_t i, size_t done, int masked,
                   const uint8_t key[4], size_t phase, size_t *pos)
{
    if (masked) {
        wsf__mask_neon(dst + done, src + done, len - done, key, phase + done);
        return wsf__utf8_resolve(dst, len, i, pos);
    }
    return wsf__utf8_resolve(src, len, i, pos);
}

/* One body for validation (masked == 0) and fused unmask+validate (masked == 1), as in x86/utf8_avx2.c. */
static inline int run(uint8_t *dst, const uint8_t *src, size_t len, int masked, const uint8_t key[4],
                      size_t phase, size_t *pos)
{
    struct tabs t;
    const uint8_t *u = masked ? dst : src;   /* where the unmasked bytes are */
    uint8x16_t prev = vdupq_n_u8(0), pinc = vdupq_n_u8(0), a, b, c, d, e;
    uint8x16_t k = vreinterpretq_u8_u32(vdupq_n_u32(masked ? wsf__key_word(key, phase) : 0));
    size_t i = 0;
    t.t1h = vld1q_u8(T1H); t.t1l = vld1q_u8(T1L); t.t2h = vld1q_u8(T2H); t.nib = vdupq_n_u8(0x0F);
    t.third = vdupq_n_u8(0x60); t.fourth = vdupq_n_u8(0x70); t.top = vdupq_n_u8(0x80);
    for (; i + 64 <= len; i += 64) {
        a = vld1q_u8(src + i); b = vld1q_u8(src + i + 16); c = vld1q_u8(src + i + 32); d = vld1q_u8(src + i + 48);
        if (masked) {
            a = veorq_u8(a, k); b = veorq_u8(b, k); c = veorq_u8(c, k); d = veorq_u8(d, k);
            vst1q_u8(dst + i, a); vst1q_u8(dst + i + 16, b); vst1q_u8(dst + i + 32, c); vst1q_u8(dst + i + 48, d);
        }
        if (ascii4(a, b, c, d)) {
            if (nonzero(pinc)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);
            prev = d;
            continue;
        }
        e = vorrq_u8(vorrq_u8(check(a, prev, &t), check(b, a, &t)), vorrq_u8(check(c, b, &t), check(d, c, &t)));
        pinc = vqsubq_u8(d, vld1q_u8(INCOMPLETE));
        prev = d;
        if (nonzero(e)) return fail_at(dst, src, len, i, i + 64, masked, key, phase, pos);
    }
    if (i < len) {
        if (masked) wsf__mask_neon(dst + i, src + i, len - i, key, phase + i);
        if (len >= 64 + 16) {
            size_t s = len - 64;   /* re-check the last 64 bytes in place (see x86/utf8_ssse3.c) */
            prev = vld1q_u8(u + s - 16);
            a = vld1q_u8(u + s); b = vld1q_u8(u + s + 16); c = vld1q_u8(u + s + 32); d = vld1q_u8(u + s + 48);
            if (!ascii4(a, b, c, d)) {
                e = vorrq_u8(vorrq_u8(check(a, prev, &t), check(b, a, &t)),
                             vorrq_u8(check(c, b, &t), check(d, c, &t)));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        } else {
            uint8_t buf[64];
            uint8x16_t rem = vdupq_n_u8((uint8_t)(len - i));
            memset(buf, 0, sizeof buf);
            memcpy(buf, u + i, len - i);
            a = vld1q_u8(buf); b = vld1q_u8(buf + 16); c = vld1q_u8(buf + 32); d = vld1q_u8(buf + 48);
            if (ascii4(a, b, c, d)) {
                if (nonzero(pinc)) return wsf__utf8_resolve(u, len, i, pos);
            } else {
                e = vorrq_u8(vorrq_u8(vandq_u8(check(a, prev, &t), vcltq_u8(vld1q_u8(IOTA), rem)),
                                      vandq_u8(check(b, a, &t), vcltq_u8(vld1q_u8(IOTA + 16), rem))),
                             vorrq_u8(vandq_u8(check(c, b, &t), vcltq_u8(vld1q_u8(IOTA + 32), rem)),
                                      vandq_u8(check(d, c, &t), vcltq_u8(vld1q_u8(IOTA + 48), rem))));
                if (nonzero(e)) return wsf__utf8_resolve(u, len, i, pos);
            }
        }
    }
    return wsf__utf8_finish(u, len, pos);
}

int wsf__utf8_neon(const uint8_t *p, size_t len, size_t *pos)
{
    return run(NULL, p, len, 0, NULL, 0, pos);
}

int wsf__fused_neon(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase, size_t *pos)
{
    return run(dst, src, len, 1, key, phase, pos);
}
#endif
