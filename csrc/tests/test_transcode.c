/* wsf_utf8_measure / wsf_utf8_to_ucs against an independent byte-at-a-time decoder, for every length up to
   300 and some large ones, every text kind, every output width that holds the text, buffers against guard
   pages, a destination that is too small, and invalid input (wrong characters allowed, nothing out of
   bounds). */
#include "testutil.h"
#include <sys/mman.h>
#include <unistd.h>
#if WSF_HAVE_AVX2
#  include "../arch/x86/compress16_table.h"
#endif

/* decodes valid UTF-8 into code points; returns the count */
static size_t ref_decode(uint32_t *out, const uint8_t *p, size_t len, uint8_t *max_byte)
{
    size_t i = 0, n = 0;
    uint8_t m = 0;
    while (i < len) {
        uint32_t c = p[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, j;
        if (c >= 0x80) c &= 0x7F >> k;
        for (j = 1; j < k; j++) c = (c << 6) | (p[i + j] & 0x3F);
        for (j = 0; j < k; j++) m = p[i + j] > m ? p[i + j] : m;
        out[n++] = c;
        i += k;
    }
    *max_byte = m;
    return n;
}

static int width_of(uint8_t max_byte) { return max_byte >= 0xF0 ? 4 : max_byte >= 0xC4 ? 2 : 1; }

static uint32_t unit(const void *buf, int width, size_t i)
{
    if (width == 1) return ((const uint8_t *)buf)[i];
    if (width == 2) return ((const uint16_t *)buf)[i];
    return ((const uint32_t *)buf)[i];
}

static void check_one(const uint8_t *text, size_t len, uint32_t *ref, void *out, const char *what)
{
    uint8_t mref = 0, m = 0;
    size_t n = ref_decode(ref, text, len, &mref), got, i;
    int w, need;
    CHECK(wsf_utf8_measure(text, len, &m) == n && m == mref, "%s measure len=%zu", what, len);
    need = width_of(mref);
    for (w = need; w <= 4; w *= 2) {
        memset(out, 0xAB, (n + 1) * 4);
        got = wsf_utf8_to_ucs(out, n, w, text, len);
        CHECK(got == n, "%s width=%d len=%zu: %zu chars, expected %zu", what, w, len, got, n);
        for (i = 0; i < n && i < got; i++)
            if (unit(out, w, i) != ref[i]) break;
        CHECK(i == n, "%s width=%d len=%zu: char %zu is %#x, expected %#x", what, w, len, i,
              i < n ? unit(out, w, i) : 0, i < n ? ref[i] : 0);
        /* nothing written past the n characters */
        CHECK(((const uint8_t *)out)[n * (size_t)w] == 0xAB, "%s width=%d len=%zu: wrote past the end", what, w,
              len);
        
    }
}

/* Latin-1 text that is not ASCII (2-byte leads C2/C3 only): 1-byte units */
static void gen_latin1(uint8_t *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (i + 2 <= len && (t_rand() & 3) == 0) {
            uint32_t c = 0x80 + (uint32_t)(t_rand() % 0x80);
            text[i++] = (uint8_t)(0xC0 | c >> 6);
            text[i++] = (uint8_t)(0x80 | (c & 63));
        } else {
            text[i++] = (uint8_t)('a' + t_rand() % 26);
        }
    }
}

static void test_transcode_kinds(void)
{
    static uint8_t text[70000];
    static uint32_t ref[70000];
    static uint32_t out[70001];
    static const size_t big[] = {1000, 4095, 4096, 65536, 65537, 69999};
    size_t len, b;
    int kind;
    for (kind = 0; kind <= 4; kind++) {
        for (len = 0; len <= 300; len++) {
            gen_text(text, len, kind);
            check_one(text, len, ref, out, "kinds");
            CHECK_BAIL();
        }
        for (b = 0; b < sizeof big / sizeof big[0]; b++) {
            gen_text(text, big[b], kind);
            check_one(text, big[b], ref, out, "kinds big");
        }
    }
    for (len = 0; len <= 300; len++) {
        gen_latin1(text, len);
        check_one(text, len, ref, out, "latin1");
        CHECK_BAIL();
    }
}

static void test_transcode_small_cap(void)
{
    uint8_t text[512];
    uint32_t out[600];
    size_t cap, n, got;
    uint8_t m;
    gen_text(text, sizeof text, 4);
    n = wsf_utf8_measure(text, sizeof text, &m);
    for (cap = 0; cap <= n; cap += 7) {
        memset(out, 0xAB, sizeof out);
        got = wsf_utf8_to_ucs(out, cap, 4, text, sizeof text);
        CHECK(got == cap, "cap=%zu wrote %zu", cap, got);
        CHECK(((const uint8_t *)out)[cap * 4] == 0xAB, "cap=%zu wrote past cap", cap);
    }
}

/* Invalid input: any output, but at most cap characters and no access outside either buffer (ASan). */
static void test_transcode_invalid(void)
{
    uint8_t text[400];
    uint32_t out[400];
    size_t len, i;
    int w;
    for (len = 1; len <= 400; len += 3) {
        for (i = 0; i < len; i++) text[i] = (uint8_t)(0x80 | t_rand());
        for (w = 1; w <= 4; w *= 2) {
            size_t got = wsf_utf8_to_ucs(out, len, w, text, len);
            CHECK(got <= len, "invalid len=%zu wrote %zu", len, got);
        }
    }
}

static void test_transcode_guard(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *rs = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *rd = mmap(NULL, 6 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t tmp[600];
    size_t len, n, got;
    uint8_t m;
    int kind, where, w;
    CHECK(rs != MAP_FAILED && rd != MAP_FAILED, "mmap");
    if (rs == MAP_FAILED || rd == MAP_FAILED) return;
    mprotect(rs, page, PROT_NONE);
    mprotect(rs + 2 * page, page, PROT_NONE);
    mprotect(rd, page, PROT_NONE);
    mprotect(rd + 5 * page, page, PROT_NONE);
    for (kind = 0; kind <= 4; kind++)
        for (len = 1; len <= 600; len += (len < 140 ? 1 : 37))
            for (where = 0; where < 2; where++) {
                uint8_t *s = where ? rs + page : rs + 2 * page - len;
                gen_text(tmp, len, kind);
                memcpy(s, tmp, len);
                n = wsf_utf8_measure(s, len, &m);
                for (w = 1; w <= 4; w *= 2) {
                    uint8_t *d = where ? rd + page : rd + 5 * page - n * (size_t)w;
                    if (w < width_of(m)) continue;
                    got = wsf_utf8_to_ucs(d, n, w, s, len);
                    CHECK(got == n, "guard kind=%d len=%zu w=%d", kind, len, w);
                }
            }
    munmap(rs, 3 * page);
    munmap(rd, 6 * page);
}

/* Every kernel set this CPU can run, called directly: the dispatcher picks only one of the two AVX-512 sets
   on a given CPU, so the other one is tested here. */
static void test_transcode_each_kernel(void)
{
    struct kset { const char *name; wsf_to_ucs_fn f[3]; int usable; };
    static uint8_t text[5000];
    static uint32_t ref[5000], out[5001];
    const char *paths[8];
    int np = wsf_list_paths(WSF_PRIM_UTF8, paths, 8), has512 = 0, has2 = 0, i, k, kind;
    size_t len, j;
    for (i = 0; i < np; i++) {
        has512 |= strcmp(paths[i], "avx512") == 0;
        has2 |= strcmp(paths[i], "avx2") == 0;
    }
    (void)has2;
    {
        struct kset sets[] = {
            {"scalar", {wsf__to_ucs1_scalar, wsf__to_ucs2_scalar, wsf__to_ucs4_scalar}, 1},
#if WSF_HAVE_AVX2
            {"avx2", {wsf__to_ucs1_avx2, wsf__to_ucs2_avx2, NULL}, has2},
#endif
#if WSF_HAVE_AVX512
            {"avx512", {wsf__to_ucs1_avx512, wsf__to_ucs2_avx512, wsf__to_ucs4_avx512}, has512},
#endif
#if WSF_HAVE_AVX512VBMI2
            {"avx512vbmi2", {wsf__to_ucs1_avx512vbmi2, wsf__to_ucs2_avx512vbmi2, NULL}, wsf__cpu_has_vbmi2()},
#endif
        };
        for (k = 0; k < (int)(sizeof sets / sizeof sets[0]); k++) {
            if (!sets[k].usable) continue;
            for (kind = 0; kind <= 5; kind++)
                for (len = 0; len <= 5000; len += (len < 300 ? 1 : 233)) {
                    uint8_t m;
                    size_t n;
                    int w, wi;
                    if (kind == 5) gen_latin1(text, len);
                    else gen_text(text, len, kind);
                    n = ref_decode(ref, text, len, &m);
                    for (wi = 0, w = 1; wi < 3; wi++, w *= 2) {
                        size_t got;
                        if (w < width_of(m) || !sets[k].f[wi]) continue;
                        memset(out, 0xAB, sizeof out);
                        got = sets[k].f[wi](out, n, text, len);
                        for (j = 0; j < n && j < got; j++)
                            if (unit(out, w, j) != ref[j]) break;
                        CHECK(got == n && j == n, "%s width=%d kind=%d len=%zu: got %zu of %zu, first bad %zu",
                              sets[k].name, w, kind, len, got, n, j);
                        CHECK(((const uint8_t *)out)[n * (size_t)w] == 0xAB, "%s width=%d len=%zu: past the end",
                              sets[k].name, w, len);
                    }
                    CHECK_BAIL();
                }
        }
    }
}

/* The pshufb table of the AVX2 kernels against its definition; the AVX2 measure against the scalar one. */
static void test_transcode_table(void)
{
#if WSF_HAVE_AVX2
    unsigned m;
    int j;
    for (m = 0; m < 256; m++) {
        int n = 0;
        for (j = 0; j < 8; j++)
            if (m >> j & 1) {
                CHECK(wsf__compress16_table[m][2 * n] == 2 * j && wsf__compress16_table[m][2 * n + 1] == 2 * j + 1,
                      "row %u lane %d", m, n);
                n++;
            }
        for (; n < 8; n++)
            CHECK(wsf__compress16_table[m][2 * n] == 0x80 && wsf__compress16_table[m][2 * n + 1] == 0x80,
                  "row %u lane %d not zeroed", m, n);
    }
    {
        const char *paths[8];
        int np = wsf_list_paths(WSF_PRIM_UTF8, paths, 8), i, has2 = 0, kind;
        static uint8_t text[3000];
        size_t len;
        for (i = 0; i < np; i++) has2 |= strcmp(paths[i], "avx2") == 0;
        if (has2)
            for (kind = 0; kind <= 4; kind++)
                for (len = 0; len < sizeof text; len += (len < 200 ? 1 : 97)) {
                    uint8_t m1, m2;
                    gen_text(text, len, kind);
                    CHECK(wsf__measure_avx2(text, len, &m1) == wsf__measure_scalar(text, len, &m2) && m1 == m2,
                          "avx2 measure len=%zu", len);
                }
    }
#endif
}

void test_transcode_register(void)
{
    t_run("transcode_table", test_transcode_table);
    t_run("transcode_each_kernel", test_transcode_each_kernel);
    t_run("transcode_kinds", test_transcode_kinds);
    t_run("transcode_small_cap", test_transcode_small_cap);
    t_run("transcode_invalid", test_transcode_invalid);
    t_run("transcode_guard", test_transcode_guard);
}
