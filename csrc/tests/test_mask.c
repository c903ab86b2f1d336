/* Masking: every path against the byte-loop reference. */
#include "testutil.h"

static const uint8_t KEY[4] = {0x37, 0xFA, 0x21, 0x3D};

/* one call through the public API and one straight into the selected kernel (which wsf_mask skips for
   len < 16), both in place and out of place */
static void check_one(const uint8_t *src, size_t len, size_t salign, size_t dalign, size_t phase,
                      uint8_t *sbuf, uint8_t *dbuf, uint8_t *expect)
{
    int via;
    ref_mask(expect, src, len, KEY, phase);
    for (via = 0; via < 2; via++) {
        uint8_t *s = sbuf + salign, *d = dbuf + dalign;
        wsf_mask_fn fn = via ? wsf__mask_kernel() : wsf_mask;
        /* out of place; guard bytes around dst must survive */
        memcpy(s, src, len);
        memset(dbuf, 0xA5, dalign);
        memset(d + len, 0x5A, 80);
        fn(d, s, len, KEY, phase);
        CHECK(memcmp(d, expect, len) == 0, "out-of-place len=%zu sa=%zu da=%zu phase=%zu via=%d", len, salign,
              dalign, phase, via);
        CHECK(memcmp(s, src, len) == 0, "src modified len=%zu", len);
        CHECK(d[len] == 0x5A && d[len + 79] == 0x5A && (dalign == 0 || d[-1] == 0xA5),
              "wrote outside dst len=%zu da=%zu", len, dalign);
        /* in place */
        memcpy(d, src, len);
        d[len] = 0x5A;
        fn(d, d, len, KEY, phase);
        CHECK(memcmp(d, expect, len) == 0, "in-place len=%zu da=%zu phase=%zu via=%d", len, dalign, phase, via);
        CHECK(d[len] == 0x5A, "in-place wrote past end len=%zu", len);
    }
}

static uint8_t *src, *sbuf, *dbuf, *expect;
#define BIG ((size_t)1 << 20) + 13

static void alloc_bufs(void)
{
    size_t i;
    src = malloc(BIG + 256);
    sbuf = malloc(BIG + 256);
    dbuf = malloc(BIG + 256);
    expect = malloc(BIG + 256);
    for (i = 0; i < BIG + 256; i++) src[i] = (uint8_t)t_rand();
}
static void free_bufs(void) { free(src); free(sbuf); free(dbuf); free(expect); }

static void test_mask_lengths(void)
{
    size_t len, phase;
    alloc_bufs();
    for (len = 0; len <= 1100; len++)
        for (phase = 0; phase < 4; phase++) {
            check_one(src, len, len % 64, (len * 7 + phase) % 64, phase + 4 * (len % 3), sbuf, dbuf, expect);
            CHECK_BAIL();
        }
    free_bufs();
}

static void test_mask_alignments(void)
{
    static const size_t lens[] = {1, 3, 15, 16, 17, 33, 64, 100, 129, 255, 300};
    size_t li, sa, da, phase;
    alloc_bufs();
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (sa = 0; sa < 64; sa++)
            for (da = 0; da < 64; da++)
                for (phase = 0; phase < 4; phase++) {
                    check_one(src, lens[li], sa, da, phase, sbuf, dbuf, expect);
                    CHECK_BAIL();
                }
    free_bufs();
}

static void test_mask_large(void)
{
    static const size_t lens[] = {4096, 65536 + 5, 1 << 20, BIG};
    size_t li, k;
    alloc_bufs();
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (k = 0; k < 4; k++)
            check_one(src, lens[li], (k * 13) % 64, (k * 29 + 1) % 64, k, sbuf, dbuf, expect);
    free_bufs();
}

/* a huge phase value must only matter modulo 4 */
static void test_mask_phase_wrap(void)
{
    uint8_t a[200], b[200], e[200];
    size_t i;
    for (i = 0; i < sizeof a; i++) a[i] = (uint8_t)i;
    ref_mask(e, a, sizeof a, KEY, 3);
    wsf_mask(b, a, sizeof a, KEY, (size_t)-1);   /* (size_t)-1 == 3 mod 4 */
    CHECK(memcmp(b, e, sizeof a) == 0, "phase SIZE_MAX");
}

void test_mask_register(void)
{
    t_run("mask_lengths", test_mask_lengths);
    t_run("mask_alignments", test_mask_alignments);
    t_run("mask_large", test_mask_large);
    t_run("mask_phase_wrap", test_mask_phase_wrap);
}
