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

void test_threads_register(void) { t_run("threads_switching", test_threads_switching); }
