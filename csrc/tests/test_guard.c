/* Guard pages: buffers whose last byte is the last before a PROT_NONE page, or whose first byte is the first
   after one. Any over-read or over-write (SIMD tails included) crashes the test. */
#include "testutil.h"
#include <sys/mman.h>
#include <unistd.h>

struct region { uint8_t *base; size_t page; };   /* [NONE page][RW page][NONE page] */

static int region_new(struct region *r)
{
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    r->base = mmap(NULL, 3 * r->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->base == MAP_FAILED) return -1;
    if (mprotect(r->base, r->page, PROT_NONE) || mprotect(r->base + 2 * r->page, r->page, PROT_NONE)) return -1;
    return 0;
}
static void region_free(struct region *r) { munmap(r->base, 3 * r->page); }
/* where == 0: buffer ends at the guard; where == 1: buffer starts right after the guard */
static uint8_t *place(struct region *r, size_t len, int where)
{
    return where ? r->base + r->page : r->base + 2 * r->page - len;
}

static const uint8_t KEY[4] = {9, 8, 7, 6};

static void test_guard_mask(void)
{
    struct region rs, rd;
    uint8_t ref[300], orig[300];
    size_t len, phase;
    int ws, wd, via;
    CHECK(region_new(&rs) == 0 && region_new(&rd) == 0, "mmap");
    for (len = 0; len <= 300; len++)
        for (ws = 0; ws < 2; ws++)
            for (wd = 0; wd < 2; wd++)
                for (phase = 0; phase < 4; phase++)
                    for (via = 0; via < 2; via++) {
                        uint8_t *s = place(&rs, len, ws), *d = place(&rd, len, wd);
                        wsf_mask_fn fn = via ? wsf__mask_kernel() : wsf_mask;
                        size_t i;
                        for (i = 0; i < len; i++) orig[i] = s[i] = (uint8_t)t_rand();
                        ref_mask(ref, orig, len, KEY, phase);
                        fn(d, s, len, KEY, phase);
                        CHECK(memcmp(d, ref, len) == 0, "guard mask len=%zu", len);
                        fn(s, s, len, KEY, phase);
                        CHECK(memcmp(s, ref, len) == 0, "guard mask in place len=%zu", len);
                    }
    region_free(&rs);
    region_free(&rd);
}

static void test_guard_utf8(void)
{
    struct region rs, rd;
    size_t len, pos;
    int w, kind;
    CHECK(region_new(&rs) == 0 && region_new(&rd) == 0, "mmap");
    for (len = 0; len <= 300; len++)
        for (w = 0; w < 2; w++)
            for (kind = 0; kind < 8; kind++) {
                uint8_t *p = place(&rs, len, w), *d = place(&rd, len, !w);
                uint8_t plain[300];
                size_t err = 0, e2 = 0;
                long r;
                int v;
                wsf_utf8_state st;
                gen_text(p, len, kind % 5);
                if (kind == 5 && len) p[len - 1] = 0xF0;                       /* unfinished at the very end */
                if (kind == 6 && len) p[len - 1] = 0xC0;                       /* impossible at the very end */
                if (kind == 7 && len) p[t_rand() % len] = (uint8_t)(0x80 + t_rand() % 128);
                memcpy(plain, p, len);
                r = ref_utf8(plain, len);
                v = wsf_utf8_validate(p, len, &err);
                CHECK(r == -1 ? v == 1 : (v == 0 && err == (r == -2 ? len : (size_t)r)), "guard validate len=%zu", len);
                v = wsf__utf8_kernel()(p, len, &pos);
                CHECK(v == (r != -1 ? r == -2 : 1), "guard kernel len=%zu", len);
                /* two-piece feed so that both pieces end at a guard-adjacent byte */
                wsf_utf8_init(&st);
                v = wsf_utf8_feed(&st, p, len / 2, &err) && wsf_utf8_feed(&st, p + len / 2, len - len / 2, &err);
                CHECK(v == (r < 0), "guard feed len=%zu", len);
                /* fused: unmask a masked copy from p into d */
                ref_mask(p, plain, len, KEY, 1);
                wsf_utf8_init(&st);
                v = wsf_unmask_utf8(d, p, len, KEY, 1, &st, &e2);
                CHECK(memcmp(d, plain, len) == 0 && v == (r < 0), "guard fused len=%zu", len);
                CHECK_BAIL();
            }
    region_free(&rs);
    region_free(&rd);
}

void test_guard_register(void)
{
    t_run("guard_mask", test_guard_mask);
    t_run("guard_utf8", test_guard_utf8);
}
