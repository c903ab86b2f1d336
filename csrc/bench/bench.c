/* Throughput per path: masking (out of place) and UTF-8 validation on ASCII, French-like and CJK+emoji text,
   at 1 KiB, 64 KiB and 1 MiB (all cache-resident after the first pass), with memcpy as the reference.
   Each figure is the best of 7 timed runs of >= 20 ms each. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../wsframe.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;
static uint8_t *A, *B;
static size_t N;
static const uint8_t KEY[4] = {0x12, 0x34, 0x56, 0x78};
static const uint8_t *TEXT;

static void run_memcpy(void) { memcpy(B, A, N); sink += B[N / 2]; }
static void run_mask(void) { wsf_mask(B, A, N, KEY, 1); sink += B[N / 2]; }
static void run_utf8(void) { size_t e = 0; sink += (size_t)wsf_utf8_validate(TEXT, N, &e) + e; }
static void run_fused(void)
{
    wsf_utf8_state st;
    size_t e = 0;
    wsf_utf8_init(&st);
    sink += (size_t)wsf_unmask_utf8(B, A, N, KEY, 0, &st, &e);
}

/* Best of many short runs (~0.2 ms each, for 0.25 s): on a shared machine the best short run is the one
   that was not preempted, which is what we want to compare paths. */
static double gbps(void (*fn)(void))
{
    double best = 0, start = now(), t0, t;
    size_t iters = 1, k;
    fn();
    /* calibrate iterations per run */
    for (;;) {
        t0 = now();
        for (k = 0; k < iters; k++) fn();
        if (now() - t0 > 2e-4 || iters > ((size_t)1 << 24)) break;
        iters *= 2;
    }
    do {
        t0 = now();
        for (k = 0; k < iters; k++) fn();
        t = now() - t0;
        if ((double)iters * (double)N / t > best) best = (double)iters * (double)N / t;
    } while (now() - start < 0.25);
    return best / 1e9;
}

/* ---- text generators (valid UTF-8, exactly n bytes, ASCII padding at the end) ---- */
static uint64_t rs = 88172645463325252u;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static size_t put(uint8_t *o, size_t room, const char *s)
{
    size_t n = strlen(s);
    if (n > room) return 0;
    memcpy(o, s, n);
    return n;
}

static void gen_ascii(uint8_t *o, size_t n)
{
    static const char *w[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog, ", "and ",
                              "then ", "some ", "JSON: {\"id\": 42} ", "frame ", "payload. "};
    size_t i = 0, k;
    while ((k = put(o + i, n - i, w[rnd() % 14])) != 0) i += k;
    while (i < n) o[i++] = ' ';
}

static void gen_french(uint8_t *o, size_t n)
{
    static const char *w[] = {"le ", "la ", "été ", "élève ", "très ", "où ", "déjà ", "forêt ", "château ",
                              "français ", "à ", "ça ", "garçon ", "crème ", "brûlée ", "naïve ", "cœur ", "être ",
                              "qu'il ", "fenêtre ", "de ", "et ", "les ", "pour ", "dans ", "que ", "une ",
                              "après ", "première ", "réalité. "};
    size_t i = 0, k;
    while ((k = put(o + i, n - i, w[rnd() % 30])) != 0) i += k;
    while (i < n) o[i++] = ' ';
}

static void gen_cjk(uint8_t *o, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t r = rnd();
        if (r % 12 == 0 && i + 4 <= n) {              /* emoji U+1F300..U+1F6FF */
            uint32_t c = 0x1F300 + (uint32_t)((r >> 8) % 0x400);
            o[i++] = (uint8_t)(0xF0 | c >> 18); o[i++] = (uint8_t)(0x80 | ((c >> 12) & 63));
            o[i++] = (uint8_t)(0x80 | ((c >> 6) & 63)); o[i++] = (uint8_t)(0x80 | (c & 63));
        } else if (r % 12 == 1) {
            o[i++] = (uint8_t)(r % 3 ? ' ' : '1');
        } else if (i + 3 <= n) {                     /* CJK U+4E00..U+9FFF */
            uint32_t c = 0x4E00 + (uint32_t)((r >> 8) % 0x5200);
            o[i++] = (uint8_t)(0xE0 | c >> 12); o[i++] = (uint8_t)(0x80 | ((c >> 6) & 63));
            o[i++] = (uint8_t)(0x80 | (c & 63));
        } else {
            o[i++] = ' ';
        }
    }
}

int main(void)
{
    static const size_t sizes[] = {1024, 65536, 1 << 20};
    static const char *tname[] = {"ascii", "french", "cjk+emoji"};
    uint8_t *texts[3];
    const char *mp[8], *up[8];
    int nm = wsf_list_paths(WSF_PRIM_MASK, mp, 8), nu = wsf_list_paths(WSF_PRIM_UTF8, up, 8);
    size_t si;
    int i, t;
    A = malloc((1 << 20) + 64);
    B = malloc((1 << 20) + 64);
    for (t = 0; t < 3; t++) texts[t] = malloc(1 << 20);
    gen_ascii(texts[0], 1 << 20);
    gen_french(texts[1], 1 << 20);
    gen_cjk(texts[2], 1 << 20);
    memcpy(A, texts[1], 1 << 20);
    for (t = 0; t < 3; t++) {
        size_t e;
        if (!wsf_utf8_validate(texts[t], 1 << 20, &e)) { printf("generator bug %d at %zu\n", t, e); return 1; }
    }
    {
        size_t nonascii = 0, k;
        for (k = 0; k < (1 << 20); k++) nonascii += texts[1][k] >= 0x80;
        printf("french-like text: %.1f%% non-ASCII bytes\n", 100.0 * (double)nonascii / (1 << 20));
    }
    printf("%-28s %10s %10s %10s   (GB/s)\n", "", "1 KiB", "64 KiB", "1 MiB");
    printf("%-28s", "memcpy");
    for (si = 0; si < 3; si++) { N = sizes[si]; printf(" %10.2f", gbps(run_memcpy)); }
    printf("\n");
    for (i = 0; i < nm; i++) {
        char label[64];
        wsf_set_path(WSF_PRIM_MASK, mp[i]);
        snprintf(label, sizeof label, "mask %s", mp[i]);
        printf("%-28s", label);
        for (si = 0; si < 3; si++) { N = sizes[si]; printf(" %10.2f", gbps(run_mask)); }
        printf("\n");
    }
    wsf_set_path(WSF_PRIM_MASK, NULL);
    for (t = 0; t < 3; t++)
        for (i = 0; i < nu; i++) {
            char label[64];
            wsf_set_path(WSF_PRIM_UTF8, up[i]);
            snprintf(label, sizeof label, "utf8 %s %s", tname[t], up[i]);
            printf("%-28s", label);
            TEXT = texts[t];
            for (si = 0; si < 3; si++) { N = sizes[si]; printf(" %10.2f", gbps(run_utf8)); }
            printf("\n");
        }
    /* fused unmask + validate of masked French text, out of place, per UTF-8 path (the fused kernel follows
       the UTF-8 path; paths without one unmask and validate block-wise in L1) */
    memcpy(A, texts[1], 1 << 20);
    wsf_mask(A, A, 1 << 20, KEY, 0);
    for (i = 0; i < nu; i++) {
        char label[64];
        wsf_set_path(WSF_PRIM_UTF8, up[i]);
        snprintf(label, sizeof label, "unmask+utf8 french %s", up[i]);
        printf("%-28s", label);
        for (si = 0; si < 3; si++) { N = sizes[si]; printf(" %10.2f", gbps(run_fused)); }
        printf("\n");
    }
    wsf_set_path(WSF_PRIM_UTF8, NULL);
    return 0;
}
