/* Concurrency: threads mask and validate while the main thread keeps switching paths. Every result must be
   right whichever path each call happens to use (the selection is one atomically replaced pointer). */
#include "testutil.h"
#include <pthread.h>

enum { NTHREADS = 3, ROUNDS = 300 };

static void *worker(void *arg)
{
    static const uint8_t key[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    uint8_t text[700], buf[700], back[700];
    size_t n, err = 0;
    int r, bad = 0;
    uint64_t s = (uint64_t)(size_t)arg * 7919 + 1;
    for (r = 0; r < ROUNDS && !bad; r++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        n = (size_t)(s >> 33) % 700;
        memset(text, 'a', n);
        if (n > 10) memcpy(text + n / 2, "\xE2\x82\xAC\xC3\xA9", 5);
        if (r & 1 && n > 3) text[n - 2] = 0xC0;   /* invalid */
        wsf_mask(buf, text, n, key, (size_t)r);
        wsf_mask(back, buf, n, key, (size_t)r);
        if (memcmp(back, text, n) != 0) bad = 1;
        if (wsf_utf8_validate(text, n, &err) != !(r & 1 && n > 3)) bad = 2;
        if (r & 1 && n > 3 && err != n - 2) bad = 3;
    }
    return (void *)(size_t)bad;
}

static void test_threads_switching(void)
{
    pthread_t t[NTHREADS];
    const char *mp[8], *up[8];
    int nm = wsf_list_paths(WSF_PRIM_MASK, mp, 8), nu = wsf_list_paths(WSF_PRIM_UTF8, up, 8), i, k = 0;
    const char *keep_m = wsf_get_path(WSF_PRIM_MASK), *keep_u = wsf_get_path(WSF_PRIM_UTF8);
    for (i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + 1)) == 0, "create");
    for (k = 0; k < 2000; k++) {
        wsf_set_path(WSF_PRIM_MASK, mp[k % nm]);
        wsf_set_path(WSF_PRIM_UTF8, k % 5 == 0 ? "auto" : up[k % nu]);
    }
    for (i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL, "worker %d saw a wrong result (%d)", i, (int)(size_t)r);
    }
    wsf_set_path(WSF_PRIM_MASK, keep_m);
    wsf_set_path(WSF_PRIM_UTF8, keep_u);
}

/* Streaming from several threads, each with its own state: chunked feeds and fused unmask+feed across
   character boundaries, keys from the per-thread pools, while the main thread switches paths. */
static void *stream_worker(void *arg)
{
    static const char piece[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";   /* 1, 2, 3, 4-byte characters */
    uint8_t text[1200], masked[1200], out[1200], key[4];
    size_t n = 0, i, err = 0;
    int r, bad = 0;
    uint64_t s = (uint64_t)(size_t)arg * 104729 + 3;
    while (n + sizeof piece - 1 <= sizeof text) { memcpy(text + n, piece, sizeof piece - 1); n += sizeof piece - 1; }
    for (r = 0; r < ROUNDS && !bad; r++) {
        wsf_utf8_state a, b;
        size_t pos = 0;
        if (wsf_random_key(key) != 0) { bad = 1; break; }
        wsf_mask(masked, text, n, key, 0);
        wsf_utf8_init(&a);
        wsf_utf8_init(&b);
        while (pos < n) {
            size_t step;
            s = s * 6364136223846793005u + 1442695040888963407u;
            step = 1 + (size_t)(s >> 40) % 37;
            if (step > n - pos) step = n - pos;
            if (!wsf_utf8_feed(&a, text + pos, step, &err)) bad = 2;
            if (!wsf_unmask_utf8(out + pos, masked + pos, step, key, pos, &b, &err)) bad = 3;
            pos += step;
        }
        if (!wsf_utf8_complete(&a) || !wsf_utf8_complete(&b) || memcmp(out, text, n) != 0) bad = 4;
        for (i = 0; i < 4 && !bad; i++)
            if (wsf_random_bytes(out, 64) != 0) bad = 5;
    }
    return (void *)(size_t)bad;
}

static void test_threads_streams(void)
{
    pthread_t t[NTHREADS];
    const char *up[8];
    int nu = wsf_list_paths(WSF_PRIM_UTF8, up, 8), i, k;
    const char *keep_u = wsf_get_path(WSF_PRIM_UTF8);
    for (i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, stream_worker, (void *)(size_t)(i + 1)) == 0, "create");
    for (k = 0; k < 2000; k++) wsf_set_path(WSF_PRIM_UTF8, up[k % nu]);
    for (i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL, "stream worker %d saw a wrong result (%d)", i, (int)(size_t)r);
    }
    wsf_set_path(WSF_PRIM_UTF8, keep_u);
}

void test_threads_register(void)
{
    t_run("threads_switching", test_threads_switching);
    t_run("threads_streams", test_threads_streams);
}
