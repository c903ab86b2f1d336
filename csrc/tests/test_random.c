/* Random pool: distinct output, large requests, fork safety, concurrent threads. */
#include "testutil.h"
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void test_random_keys(void)
{
    enum { N = 3000 };
    static uint32_t keys[N];
    size_t i, dup = 0;
    for (i = 0; i < N; i++) {
        uint8_t k[4];
        CHECK(wsf_random_key(k) == 0, "random_key failed");
        memcpy(&keys[i], k, 4);
    }
    qsort(keys, N, sizeof keys[0], cmp32);
    for (i = 1; i < N; i++) dup += keys[i] == keys[i - 1];
    CHECK(dup <= 1, "%zu duplicate keys in %d", dup, N);   /* P(>=1) ~ 0.1%; P(>=2) negligible */
}

static void test_random_bytes(void)
{
    static uint8_t a[100000], b[100000];
    size_t n, i, ones = 0;
    CHECK(wsf_random_bytes(a, 0) == 0, "n=0");
    for (n = 1; n < 5000; n += 97) {
        memset(a, 0, n);
        CHECK(wsf_random_bytes(a, n) == 0, "n=%zu", n);
    }
    CHECK(wsf_random_bytes(a, sizeof a) == 0 && wsf_random_bytes(b, sizeof b) == 0, "big");
    CHECK(memcmp(a, b, sizeof a) != 0, "two big draws equal");
    for (i = 0; i < sizeof a; i++) { unsigned v = a[i]; while (v) { ones += v & 1; v >>= 1; } }
    CHECK(ones > 390000 && ones < 410000, "bit balance %zu / 800000", ones);
}

/* The child must not replay the parent's pool: after fork both draw, and the draws must differ. */
static void test_random_fork(void)
{
    uint8_t warm[4], mine[64], theirs[64];
    int fd[2], status = 0;
    pid_t pid;
    CHECK(wsf_random_key(warm) == 0, "warm pool");
    CHECK(pipe(fd) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        uint8_t out[64];
        ssize_t w;
        close(fd[0]);
        if (wsf_random_bytes(out, sizeof out) != 0) _exit(2);
        w = write(fd[1], out, sizeof out);
        _exit(w == (ssize_t)sizeof out ? 0 : 3);
    }
    CHECK(pid > 0, "fork");
    close(fd[1]);
    CHECK(wsf_random_bytes(mine, sizeof mine) == 0, "parent draw");
    CHECK(read(fd[0], theirs, sizeof theirs) == (ssize_t)sizeof theirs, "read child");
    close(fd[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK(memcmp(mine, theirs, sizeof mine) != 0, "child replayed the parent's pool");
}

enum { NT = 4, PER = 2000 };
static uint32_t tkeys[NT][PER];
static void *draw(void *arg)
{
    uint32_t *out = arg;
    int i;
    for (i = 0; i < PER; i++) {
        uint8_t k[4];
        if (wsf_random_key(k) != 0) return arg;
        memcpy(&out[i], k, 4);
    }
    return NULL;
}

static void test_random_threads(void)
{
    pthread_t t[NT];
    static uint32_t all[NT * PER];
    int i;
    size_t dup = 0;
    for (i = 0; i < NT; i++) CHECK(pthread_create(&t[i], NULL, draw, tkeys[i]) == 0, "create");
    for (i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL, "thread %d failed", i);
    }
    memcpy(all, tkeys, sizeof all);
    qsort(all, NT * PER, sizeof all[0], cmp32);
    for (i = 1; i < NT * PER; i++) dup += all[i] == all[i - 1];
    CHECK(dup <= 2, "%zu duplicates across threads", dup);
}

void test_random_register(void)
{
    t_run("random_keys", test_random_keys);
    t_run("random_bytes", test_random_bytes);
    t_run("random_fork", test_random_fork);
    t_run("random_threads", test_random_threads);
}
