/* UTF-8: every path against the reference state machine (tests/test_main.c: ref_utf8). */
#include "testutil.h"

/* validate + single feed + complete, all checked against the reference */
static void check_text(const uint8_t *p, size_t len, const char *what, size_t tag)
{
    long r = ref_utf8(p, len);
    size_t err = (size_t)-7, ferr = (size_t)-7;
    unsigned long calls = wsf__resolve_calls;
    int v = wsf_utf8_validate(p, len, &err);
    wsf_utf8_state st;
    int f;
    if (r == -1) CHECK(v == 1, "%s %zu: valid text rejected at %zu (len %zu)", what, tag, err, len);
    else if (r == -2) CHECK(v == 0 && err == len, "%s %zu: truncated: got v=%d err=%zu len=%zu", what, tag, v, err, len);
    else CHECK(v == 0 && err == (size_t)r, "%s %zu: want err %ld got v=%d err=%zu len=%zu", what, tag, r, v, err, len);
    /* no false alarms: valid (or merely truncated) text never takes the SIMD error path */
    CHECK(r >= 0 || wsf__resolve_calls == calls, "%s %zu: error path taken on valid text (len %zu)", what, tag, len);
    wsf_utf8_init(&st);
    f = wsf_utf8_feed(&st, p, len, &ferr);
    if (r >= 0) CHECK(f == 0 && ferr == (size_t)r, "%s %zu: feed want err %ld got f=%d err=%zu", what, tag, r, f, ferr);
    else CHECK(f == 1 && wsf_utf8_complete(&st) == (r == -1), "%s %zu: feed f=%d complete=%d want r=%ld", what,
               tag, f, wsf_utf8_complete(&st), r);
}

static void test_utf8_corpora(void)
{
    uint8_t *buf = malloc(200000 + 64);
    int kind;
    size_t len;
    static const size_t big[] = {1000, 4096, 65536 + 3, 200000};
    for (kind = 0; kind <= 4; kind++) {
        for (len = 0; len <= 600; len++) {
            uint8_t *p = buf + (len + (size_t)kind) % 64;
            gen_text(p, len, kind);
            CHECK(ref_utf8(p, len) == -1, "generator produced invalid text");
            check_text(p, len, "corpus", len);
            CHECK_BAIL();
        }
        for (len = 0; len < 4; len++) {
            gen_text(buf, big[len], kind);
            check_text(buf, big[len], "corpus-big", big[len]);
        }
    }
    free(buf);
}

/* every prefix of a mixed text: truncation inside every kind of character at every offset */
static void test_utf8_prefixes(void)
{
    uint8_t buf[1100 + 64];
    size_t len, a;
    for (a = 0; a < 64; a += 21) {
        gen_text(buf + a, 1100, 4);
        for (len = 0; len <= 1100; len++) {
            check_text(buf + a, len, "prefix", len);
            CHECK_BAIL();
        }
    }
}

struct bad { const char *bytes; size_t n; size_t at; };   /* the planted sequence and its impossible byte */
static const struct bad BAD[] = {
    {"\x80", 1, 0}, {"\xBF", 1, 0}, {"\xC0\x80", 2, 0}, {"\xC1\xBF", 2, 0}, {"\xF5\x80\x80\x80", 4, 0},
    {"\xFF", 1, 0}, {"\xF8\x88\x80\x80\x80", 5, 0}, {"\xC3\x41", 2, 1}, {"\xE0\x80\x80", 3, 1},
    {"\xE0\x9F\xBF", 3, 1}, {"\xED\xA0\x80", 3, 1}, {"\xED\xBF\xBF", 3, 1}, {"\xF0\x80\x80\x80", 4, 1},
    {"\xF0\x8F\xBF\xBF", 4, 1}, {"\xF4\x90\x80\x80", 4, 1}, {"\xE2\x82\x41", 3, 2}, {"\xE2\x41", 2, 1},
    {"\xF0\x9F\x98\x41", 4, 3}, {"\xF0\x9F\x41", 3, 2}, {"\xE2\x82\xAC\x80", 4, 3}, {"\xC3\xA9\xA9", 3, 2},
    {"\xC2\xC2", 2, 1}, {"\xE2\xE2", 2, 1}, {"\xF0\xC2\x80", 3, 1},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void test_utf8_planted(void)
{
    static const size_t lens[] = {1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 200};
    uint8_t buf[256 + 64];
    size_t li, b, k, base;
    for (base = 0; base < 3; base++)
        for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (b = 0; b < NBAD; b++)
                for (k = 0; k < lens[li]; k++) {
                    size_t len = lens[li], n = BAD[b].n;
                    uint8_t *p = buf + (k % 3) * 7;
                    long r;
                    /* valid text up to k (ends on a boundary), the bad sequence, valid text after */
                    gen_text(p, k, base == 0 ? 0 : base == 1 ? 4 : 2);
                    if (k + n <= len) {
                        memcpy(p + k, BAD[b].bytes, n);
                        gen_text(p + k + n, len - k - n, base == 2 ? 3 : 0);
                    } else {
                        memcpy(p + k, BAD[b].bytes, len - k);   /* cut short at the end */
                    }
                    r = ref_utf8(p, len);
                    if (k + BAD[b].at < len)
                        CHECK(r == (long)(k + BAD[b].at), "reference disagrees with plan: bad=%zu k=%zu r=%ld",
                              b, k, r);
                    check_text(p, len, "planted", b * 1000 + k);
                    CHECK_BAIL();
                }
}

/* every byte pair / triple / quad around the vector block boundaries */
static void test_utf8_pairs(void)
{
    static const size_t at[] = {0, 15, 31, 62, 63, 64};
    static const uint8_t reps[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF,
                                   0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF};
    uint8_t buf[70];
    size_t ai;
    unsigned a, b, c, d;
    for (ai = 0; ai < sizeof at / sizeof at[0]; ai++)
        for (a = 0; a < 256; a++)
            for (b = 0; b < 256; b++) {
                memset(buf, 'a', sizeof buf);
                buf[at[ai]] = (uint8_t)a;
                buf[at[ai] + 1] = (uint8_t)b;
                check_text(buf, sizeof buf, "pair", a * 256 + b);
                check_text(buf, at[ai] + 2, "pair-end", a * 256 + b);
                CHECK_BAIL();
            }
    for (a = 0xC0; a < 256; a++)
        for (b = 0; b < 256; b++)
            for (c = 0; c < sizeof reps; c++) {
                memset(buf, 'a', sizeof buf);
                buf[62] = (uint8_t)a; buf[63] = (uint8_t)b; buf[64] = reps[c];
                check_text(buf, sizeof buf, "triple", (a << 16) | (b << 8) | reps[c]);
                check_text(buf, 65, "triple-end", (a << 16) | (b << 8) | reps[c]);
                CHECK_BAIL();
            }
    for (a = 0xF0; a < 0xF8; a++)
        for (b = 0; b < sizeof reps; b++)
            for (c = 0; c < sizeof reps; c++)
                for (d = 0; d < sizeof reps; d++) {
                    memset(buf, 'a', sizeof buf);
                    buf[61] = (uint8_t)a; buf[62] = reps[b]; buf[63] = reps[c]; buf[64] = reps[d];
                    check_text(buf, sizeof buf, "quad", (a << 24) | (b << 16) | (c << 8) | d);
                    CHECK_BAIL();
                }
}

/* feed p[0:len] in the given pieces; compare result, global error offset, complete() with the reference */
static void check_pieces(const uint8_t *p, size_t len, const size_t *cuts, int ncuts, const char *what)
{
    long r = ref_utf8(p, len);
    wsf_utf8_state st;
    size_t start = 0, err = 0;
    int i, ok = 1, failed_at_piece = -1;
    long got = -1;
    wsf_utf8_init(&st);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (!wsf_utf8_feed(&st, p + start, end - start, &err)) {
            if (ok) { got = (long)(start + err); failed_at_piece = i; }
            else CHECK(err == 0, "%s: failed state must report err 0", what);
            ok = 0;
        }
        start = end;
    }
    if (r >= 0) {
        CHECK(!ok && got == r, "%s: want err %ld got ok=%d at %ld (piece %d, len %zu)", what, r, ok, got,
              failed_at_piece, len);
        CHECK(!wsf_utf8_complete(&st), "%s: complete after failure", what);
    } else {
        CHECK(ok, "%s: valid prefix rejected at %ld (len %zu)", what, got, len);
        CHECK(wsf_utf8_complete(&st) == (r == -1), "%s: complete()=%d want %d", what, wsf_utf8_complete(&st),
              r == -1);
    }
}

static void test_utf8_chunked(void)
{
    uint8_t buf[400];
    size_t len, s, s2 = 0, k, b;
    /* two pieces, every split point, valid and invalid texts */
    for (k = 0; k < 40; k++) {
        len = 150 + k * 5;
        gen_text(buf, len, (int)(k % 5));
        if (k >= 5) {
            b = k % NBAD;
            memcpy(buf + (k * 37) % (len - 6), BAD[b].bytes, BAD[b].n);
        }
        for (s = 0; s <= len; s++) {
            check_pieces(buf, len, &s, 1, "split2");
            CHECK_BAIL();
        }
        check_pieces(buf, len - 1, &s2, 0, "whole-cut");
    }
    /* three pieces, every pair of split points, on short texts */
    for (k = 0; k < 12; k++) {
        len = 40 + k;
        gen_text(buf, len, k < 6 ? 3 : 4);
        if (k & 1) memcpy(buf + 20 + k, BAD[(k * 5) % NBAD].bytes, BAD[(k * 5) % NBAD].n);
        for (s = 0; s <= len; s++)
            for (s2 = s; s2 <= len; s2++) {
                size_t cuts[2];
                cuts[0] = s; cuts[1] = s2;
                check_pieces(buf, len, cuts, 2, "split3");
                CHECK_BAIL();
            }
    }
    /* one byte at a time */
    for (k = 0; k < 10; k++) {
        size_t cuts[400];
        len = 100 + k * 13;
        gen_text(buf, len, 4);
        if (k & 1) memcpy(buf + 50 + k, BAD[k].bytes, BAD[k].n);
        for (s = 0; s < len; s++) cuts[s] = s + 1;
        check_pieces(buf, len, cuts, (int)len - 1, "bytewise");
        check_pieces(buf, len - 2, cuts, (int)len - 3, "bytewise-cut");
    }
}

static void test_utf8_failed_state(void)
{
    wsf_utf8_state st;
    size_t err = 99;
    wsf_utf8_init(&st);
    CHECK(wsf_utf8_complete(&st), "fresh state is complete");
    CHECK(wsf_utf8_feed(&st, (const uint8_t *)"ab\xE2\x82", 4, &err) == 1, "prefix ok");
    CHECK(!wsf_utf8_complete(&st), "pending");
    CHECK(wsf_utf8_feed(&st, (const uint8_t *)"", 0, &err) == 1, "empty feed keeps state");
    CHECK(wsf_utf8_feed(&st, (const uint8_t *)"xy", 2, &err) == 0 && err == 0, "error at 0 of chunk: %zu", err);
    err = 99;
    CHECK(wsf_utf8_feed(&st, (const uint8_t *)"abc", 3, &err) == 0 && err == 0, "stays failed");
    CHECK(wsf_utf8_feed(&st, (const uint8_t *)"", 0, NULL) == 0, "stays failed, NULL err");
    CHECK(!wsf_utf8_complete(&st), "failed is not complete");
    CHECK(wsf_utf8_validate((const uint8_t *)"", 0, NULL) == 1, "empty valid");
    /* empty input with NULL pointers: nothing may be dereferenced or offset */
    CHECK(wsf_utf8_validate(NULL, 0, NULL) == 1, "NULL, 0");
    wsf_utf8_init(&st);
    CHECK(wsf_utf8_feed(&st, NULL, 0, NULL) == 1 && wsf_utf8_complete(&st), "feed NULL, 0");
    CHECK(wsf_unmask_utf8(NULL, NULL, 0, (const uint8_t *)"abcd", 0, &st, NULL) == 1, "fused NULL, 0");
    wsf_mask(NULL, NULL, 0, (const uint8_t *)"abcd", 0);
}

/* fused unmask+validate == mask then feed, including across the fused block size and at split points */
static void test_utf8_fused(void)
{
    static const uint8_t key[4] = {0x81, 0x02, 0xC3, 0x7F};
    static const size_t lens[] = {0, 1, 2, 15, 16, 17, 63, 64, 65, 200, 1000, 8191, 8192, 8193, 20000};
    uint8_t *plain = malloc(20000 + 64), *masked = malloc(20000 + 64), *out = malloc(20000 + 64);
    size_t li, phase, v;
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (v = 0; v < 6; v++)
            for (phase = 0; phase < 4; phase++) {
                size_t len = lens[li], e1 = 0, e2 = 0, inplace, s;
                gen_text(plain, len, (int)(v % 5));
                if (v >= 4 && len > 8)
                    memcpy(plain + (len * (v - 3)) / 3 - 4, BAD[(v * 7 + li) % NBAD].bytes, 2);
                ref_mask(masked, plain, len, key, phase);
                for (inplace = 0; inplace < 2; inplace++) {
                    wsf_utf8_state a, b;
                    int r1, r2;
                    wsf_utf8_init(&a); wsf_utf8_init(&b);
                    if (inplace) { memcpy(out, masked, len); r1 = wsf_unmask_utf8(out, out, len, key, phase, &a, &e1); }
                    else { memset(out, 0, len); r1 = wsf_unmask_utf8(out, masked, len, key, phase, &a, &e1); }
                    r2 = wsf_utf8_feed(&b, plain, len, &e2);
                    CHECK(memcmp(out, plain, len) == 0, "fused dst wrong len=%zu v=%zu", len, v);
                    CHECK(r1 == r2 && (r1 || e1 == e2), "fused len=%zu v=%zu: %d/%zu vs %d/%zu", len, v, r1, e1, r2, e2);
                    CHECK(wsf_utf8_complete(&a) == wsf_utf8_complete(&b), "fused complete len=%zu", len);
                }
                /* fused in two pieces: phase carries on */
                for (s = 0; len <= 200 && s <= len; s++) {
                    wsf_utf8_state a;
                    size_t e = 0;
                    long r = ref_utf8(plain, len), got = -1;
                    wsf_utf8_init(&a);
                    if (!wsf_unmask_utf8(out, masked, s, key, phase, &a, &e)) got = (long)e;
                    else if (!wsf_unmask_utf8(out + s, masked + s, len - s, key, phase + s, &a, &e)) got = (long)(s + e);
                    CHECK(memcmp(out, plain, len) == 0, "fused split dst len=%zu s=%zu", len, s);
                    CHECK(got == (r >= 0 ? r : -1), "fused split len=%zu s=%zu want %ld got %ld", len, s, r, got);
                    CHECK(r >= 0 || wsf_utf8_complete(&a) == (r == -1), "fused split complete");
                    CHECK_BAIL();
                }
            }
    free(plain); free(masked); free(out);
}

/* the kernel contract: pos of an unfinished tail, exact error offset */
static void test_utf8_kernel_direct(void)
{
    wsf_utf8_fn k = wsf__utf8_kernel();
    uint8_t buf[300];
    size_t len, pos;
    for (len = 0; len < 300; len++) {
        long r;
        int v;
        gen_text(buf, len, 4);
        if (len >= 3 && len % 4 == 1) { buf[len - 1] = 0xF0; }
        if (len >= 3 && len % 4 == 2) { buf[len - 2] = 0xE2; buf[len - 1] = 0x82; }
        r = ref_utf8(buf, len);
        v = k(buf, len, &pos);
        if (r == -1) CHECK(v == 1 && pos == len, "kernel len=%zu", len);
        else if (r == -2) CHECK(v == 1 && pos < len && len - pos <= 3 && ref_utf8(buf, pos) == -1,
                                "kernel tail len=%zu pos=%zu", len, pos);
        else CHECK(v == 0 && pos == (size_t)r, "kernel err len=%zu", len);
    }
}

/* Any state value, however it came about (a torn write by racing threads, a stray store): feeding never
   reads or writes outside the buffers (ASan), and a state that is not a real one fails rather than being used.
   The torn state of issue 13 (3 pending bytes after a 2-byte lead) first, then random ones. */
static void test_utf8_corrupt_state(void)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t data[64], out[64];
    size_t i, err;
    wsf_utf8_state st;
    memset(data, 'z', sizeof data);
    wsf_utf8_init(&st);
    st.opaque[0] = 3u << 8;
    st.opaque[1] = 0xC2u;
    err = 99;
    CHECK(wsf_utf8_feed(&st, data, sizeof data, &err) == 0 && err == 0, "torn state fails at 0: err=%zu", err);
    CHECK(!wsf_utf8_complete(&st), "torn state then failed");
    for (i = 0; i < 20000; i++) {
        uint64_t r = t_rand();
        size_t len = (size_t)(t_rand() % sizeof data), j;
        int ok;
        for (j = 0; j < len; j++) data[j] = (uint8_t)t_rand();
        st.opaque[0] = (uint32_t)(r & 0xFFFF) & (i & 1 ? 0x0300u : 0xFFFFu);
        st.opaque[1] = (uint32_t)(r >> 16);
        st.opaque[2] = (uint32_t)(r >> 48);
        err = (size_t)-1;
        if (i & 2) ok = wsf_unmask_utf8(out, data, len, key, (size_t)i, &st, &err);
        else ok = wsf_utf8_feed(&st, data, len, &err);
        CHECK(ok == 1 || err <= len, "error offset %zu outside a chunk of %zu", err, len);
        CHECK_BAIL();
    }
}

void test_utf8_register(void)
{
    t_run("utf8_corrupt_state", test_utf8_corrupt_state);
    t_run("utf8_corpora", test_utf8_corpora);
    t_run("utf8_prefixes", test_utf8_prefixes);
    t_run("utf8_planted", test_utf8_planted);
    t_run("utf8_pairs", test_utf8_pairs);
    t_run("utf8_chunked", test_utf8_chunked);
    t_run("utf8_failed_state", test_utf8_failed_state);
    t_run("utf8_fused", test_utf8_fused);
    t_run("utf8_kernel_direct", test_utf8_kernel_direct);
}
