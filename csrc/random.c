/* Masking keys from the OS CSPRNG through a per-thread pool: one system call per WSF_POOL bytes.
   Thread safety: each thread has its own pool (thread-local storage), so there is nothing to lock.
   Fork safety: a pthread_atfork child handler bumps a generation counter; a pool filled under an older
   generation is discarded, so a child never hands out bytes its parent also holds. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1          /* syscall() */
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#  define _DARWIN_C_SOURCE 1     /* arc4random_buf under -std=c99 */
#endif
#if (defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__DragonFly__)) && \
    !defined(_BSD_SOURCE)
#  define _BSD_SOURCE 1
#endif
#include "internal.h"

#if defined(_WIN32)
#  include <windows.h>
#  include <bcrypt.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "bcrypt.lib")
#  endif
#else
#  include <errno.h>
#  include <fcntl.h>
#  include <pthread.h>
#  include <stdlib.h>
#  include <unistd.h>
#  if defined(__linux__)
#    include <sys/syscall.h>
#  endif
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#  define WSF_TLS __declspec(thread)
#else
#  define WSF_TLS __thread
#endif

#define WSF_POOL 4096

/* ---- one OS call (or a short loop of them) filling out[0:n] ---- */
#if defined(_WIN32)
static int os_random(uint8_t *out, size_t n)
{
    while (n) {
        ULONG chunk = n > 0x40000000u ? 0x40000000u : (ULONG)n;
        if (BCryptGenRandom(NULL, out, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return -1;
        out += chunk;
        n -= chunk;
    }
    return 0;
}
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || \
    defined(__DragonFly__)
static int os_random(uint8_t *out, size_t n)
{
    arc4random_buf(out, n);   /* kernel-seeded, cannot fail */
    return 0;
}
#else
static int urandom(uint8_t *out, size_t n)
{
    int fd;
    do fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC); while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    while (n) {
        ssize_t r = read(fd, out, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { close(fd); return -1; }
        out += r;
        n -= (size_t)r;
    }
    close(fd);
    return 0;
}

static int os_random(uint8_t *out, size_t n)
{
#  if defined(__linux__) && defined(SYS_getrandom)
    while (n) {
        long r = syscall(SYS_getrandom, out, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOSYS) return urandom(out, n);   /* kernel older than 3.17 */
            return -1;
        }
        out += r;
        n -= (size_t)r;
    }
    return 0;
#  else
    return urandom(out, n);
#  endif
}
#endif

/* ---- fork generation ---- */
#if defined(_WIN32)
static unsigned fork_generation(void) { return 0; }   /* no fork() */
#else
static volatile unsigned fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Runs in the child only, which has a single thread at that point: no concurrent access. */
static void on_fork_child(void) { fork_gen = fork_gen + 1; }
static void register_atfork(void) { (void)pthread_atfork(NULL, NULL, on_fork_child); }

static unsigned fork_generation(void)
{
    (void)pthread_once(&atfork_once, register_atfork);
    return fork_gen;
}
#endif

/* ---- per-thread pool ---- */
static WSF_TLS uint8_t pool[WSF_POOL];
static WSF_TLS size_t pool_left;      /* unused bytes at the END of pool */
static WSF_TLS unsigned pool_gen;

int wsf_random_bytes(uint8_t *out, size_t n)
{
    unsigned gen = fork_generation();
    if (pool_gen != gen) {            /* inherited from the parent across fork(): never use it */
        pool_left = 0;
        pool_gen = gen;
    }
    if (n > WSF_POOL / 4) return os_random(out, n);   /* big requests: no point going through the pool */
    while (n) {
        size_t take;
        if (pool_left == 0) {
            if (os_random(pool, WSF_POOL) != 0) return -1;
            pool_left = WSF_POOL;
        }
        take = n < pool_left ? n : pool_left;
        memcpy(out, pool + WSF_POOL - pool_left, take);
        memset(pool + WSF_POOL - pool_left, 0, take);   /* a handed-out byte is not kept around */
        pool_left -= take;
        out += take;
        n -= take;
    }
    return 0;
}

int wsf_random_key(uint8_t key[4]) { return wsf_random_bytes(key, 4); }
