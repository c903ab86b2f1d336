/* Test driver: runs every test on every usable path and prints "N passed, M failed". */
#include "testutil.h"

int t_case_failures;
const char *t_case_name;
static int n_pass, n_fail;
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

void t_seed(uint64_t s) { rng_state = s ? s : 1; }
uint64_t t_rand(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

void t_run(const char *name, test_fn fn)
{
    char full[128];
    snprintf(full, sizeof full, "%s [mask=%s utf8=%s]", name, wsf_get_path(WSF_PRIM_MASK),
             wsf_get_path(WSF_PRIM_UTF8));
    t_case_name = full;
    t_case_failures = 0;
    t_seed(0x1234567u);
    fn();
    if (t_case_failures) {
        n_fail++;
        fprintf(stderr, "case failed: %s (%d checks)\n", full, t_case_failures);
    } else {
        n_pass++;
    }
}

void ref_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    size_t i;
    for (i = 0; i < len; i++) dst[i] = src[i] ^ key[(phase + i) % 4];
}

/* Byte-at-a-time state machine over Unicode Table 3-7. */
long ref_utf8(const uint8_t *p, size_t len)
{
    size_t i;
    int need = 0;              /* continuation bytes still expected */
    unsigned lo = 0x80, hi = 0xBF;
    for (i = 0; i < len; i++) {
        unsigned c = p[i];
        if (need == 0) {
            if (c <= 0x7F) continue;
            else if (c >= 0xC2 && c <= 0xDF) { need = 1; lo = 0x80; hi = 0xBF; }
            else if (c == 0xE0) { need = 2; lo = 0xA0; hi = 0xBF; }
            else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) { need = 2; lo = 0x80; hi = 0xBF; }
            else if (c == 0xED) { need = 2; lo = 0x80; hi = 0x9F; }
            else if (c == 0xF0) { need = 3; lo = 0x90; hi = 0xBF; }
            else if (c >= 0xF1 && c <= 0xF3) { need = 3; lo = 0x80; hi = 0xBF; }
            else if (c == 0xF4) { need = 3; lo = 0x80; hi = 0x8F; }
            else return (long)i;
        } else {
            if (c < lo || c > hi) return (long)i;
            need--;
            lo = 0x80; hi = 0xBF;
        }
    }
    return need ? -2 : -1;
}

static const uint32_t cps2[] = {0xE9, 0xE8, 0xE0, 0xE7, 0xEA, 0xF4, 0x80, 0x7FF, 0x3B1, 0x416};
static const uint32_t cps3[] = {0x4E2D, 0x6587, 0x65E5, 0x672C, 0x800, 0xFFFF, 0xD7FF, 0xE000, 0x20AC, 0xFFFD};
static const uint32_t cps4[] = {0x1F600, 0x1F4A9, 0x10000, 0x10FFFF, 0x1F680, 0x20000, 0xFFFFF, 0x100000};

static size_t put_cp(uint8_t *o, uint32_t c)
{
    if (c < 0x80) { o[0] = (uint8_t)c; return 1; }
    if (c < 0x800) { o[0] = (uint8_t)(0xC0 | c >> 6); o[1] = (uint8_t)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | c >> 12); o[1] = (uint8_t)(0x80 | ((c >> 6) & 63));
        o[2] = (uint8_t)(0x80 | (c & 63)); return 3;
    }
    o[0] = (uint8_t)(0xF0 | c >> 18); o[1] = (uint8_t)(0x80 | ((c >> 12) & 63));
    o[2] = (uint8_t)(0x80 | ((c >> 6) & 63)); o[3] = (uint8_t)(0x80 | (c & 63)); return 4;
}

void gen_text(uint8_t *buf, size_t len, int kind)
{
    size_t i = 0;
    while (i < len) {
        uint8_t tmp[4];
        size_t n;
        uint64_t r = t_rand();
        int k = kind == 4 ? (int)(r % 5) : kind;
        uint32_t c;
        switch (k) {
        case 1: c = (r >> 8) % 3 ? 0x61 + (uint32_t)((r >> 16) % 26) : cps2[(r >> 20) % 10]; break;
        case 2: c = cps3[(r >> 20) % 10]; break;
        case 3: c = (r >> 8) % 2 ? cps4[(r >> 20) % 8] : cps3[(r >> 24) % 10]; break;
        default: c = 0x20 + (uint32_t)((r >> 16) % 95); break;
        }
        n = put_cp(tmp, c);
        if (i + n > len) { buf[i++] = 'x'; continue; }
        memcpy(buf + i, tmp, n);
        i += n;
    }
}

int main(void)
{
    const char *mpaths[8], *upaths[8];
    int nm = wsf_list_paths(WSF_PRIM_MASK, mpaths, 8);
    int nu = wsf_list_paths(WSF_PRIM_UTF8, upaths, 8);
    int i;
    printf("mask paths:");
    for (i = 0; i < nm; i++) printf(" %s", mpaths[i]);
    printf("\nutf8 paths:");
    for (i = 0; i < nu; i++) printf(" %s", upaths[i]);
    printf("\n");
    /* path-independent checks run once; the others once per path (mask and utf8 paths paired by rank,
       with the remaining paths of the longer list paired with the best of the shorter) */
    test_header_register();
    test_random_register();
    test_threads_register();
    test_dispatch_register();
    for (i = 0; i < (nm > nu ? nm : nu); i++) {
        if (wsf_set_path(WSF_PRIM_MASK, mpaths[i < nm ? i : nm - 1]) != 0 ||
            wsf_set_path(WSF_PRIM_UTF8, upaths[i < nu ? i : nu - 1]) != 0) {
            printf("cannot select path %d\n", i);
            n_fail++;
            continue;
        }
        test_mask_register();
        test_utf8_register();
        test_guard_register();
        test_transcode_register();
    }
    wsf_set_path(WSF_PRIM_MASK, NULL);
    wsf_set_path(WSF_PRIM_UTF8, "auto");
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
