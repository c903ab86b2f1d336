/* Portable UTF-8 validation (RFC 3629, Unicode Table 3-7) with an 8-bytes-at-a-time ASCII fast path.
   Also the exact error locator used by the SIMD kernels. */
#include "internal.h"

#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_ARM64))
#  include <intrin.h>
#endif

/* Index of the first byte (in memory order) of the word w whose top bit is set; m = w & 0x80..80 != 0. */
static inline unsigned first_high(uint64_t w, uint64_t m)
{
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)w;
    return (unsigned)__builtin_ctzll(m) >> 3;
#elif defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_ARM64))
    unsigned long idx;
    (void)w;
    _BitScanForward64(&idx, m);
    return (unsigned)idx >> 3;
#else
    uint8_t b[8];
    unsigned k = 0;
    (void)m;
    memcpy(b, &w, 8);
    while (b[k] < 0x80) k++;
    return k;
#endif
}

int wsf__utf8_scalar(const uint8_t *p, size_t len, size_t *pos)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = p[i];
        unsigned n, k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            /* ASCII run: skip whole words while no byte has its top bit set, then jump straight to the
               first non-ASCII byte of the word (no byte-by-byte branching on mixed text) */
            i++;
            while (i + 8 <= len) {
                uint64_t w, m;
                memcpy(&w, p + i, 8);
                m = w & UINT64_C(0x8080808080808080);
                if (m) {
                    i += first_high(w, m);
                    break;
                }
                i += 8;
            }
            continue;
        }
        if (b < 0xC2) { *pos = i; return 0; }             /* stray continuation, or C0/C1 (always overlong) */
        if (b < 0xE0) n = 2;
        else if (b < 0xF0) {
            n = 3;
            if (b == 0xE0) lo = 0xA0;                      /* overlong below U+0800 */
            else if (b == 0xED) hi = 0x9F;                 /* surrogates U+D800..DFFF */
        } else if (b < 0xF5) {
            n = 4;
            if (b == 0xF0) lo = 0x90;                      /* overlong below U+10000 */
            else if (b == 0xF4) hi = 0x8F;                 /* above U+10FFFF */
        } else { *pos = i; return 0; }                     /* F5..FF never appear */
        if (i + 1 >= len) { *pos = i; return 1; }          /* unfinished, still possible */
        if (p[i + 1] < lo || p[i + 1] > hi) { *pos = i + 1; return 0; }
        for (k = 2; k < n; k++) {
            if (i + k >= len) { *pos = i; return 1; }
            if ((p[i + k] & 0xC0) != 0x80) { *pos = i + k; return 0; }
        }
        i += n;
    }
    *pos = len;
    return 1;
}

/* The SIMD kernels flag an error at the LATER byte of a bad pair, and flags never depend on later bytes, so
   when the first flag is in the block starting at `at`, p[0:at] is a valid prefix except that its last byte may
   be a lone impossible lead (C0, F5..). Any character containing position `at` started at most 3 bytes before. */
static size_t boundary_before(const uint8_t *p, size_t at)
{
    size_t b;
    if (at < 3) return 0;                  /* 0 is the kernel's start: a boundary by contract */
    b = at - 3;
    while (b < at && (p[b] & 0xC0) == 0x80) b++;   /* continuation bytes close a character started earlier */
    return b;
}

static int locate(const uint8_t *p, size_t len, size_t at, size_t *pos)
{
    size_t b = boundary_before(p, at), q;
    int r = wsf__utf8_scalar(p + b, len - b, &q);
    *pos = b + q;
    return r;
}

#ifdef WSF_TESTING
unsigned long wsf__resolve_calls;   /* tests: a SIMD kernel must not take the error path on valid text */
#endif

int wsf__utf8_resolve(const uint8_t *p, size_t len, size_t at, size_t *pos)
{
#ifdef WSF_TESTING
#  if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(&wsf__resolve_calls, 1, __ATOMIC_RELAXED);   /* the thread tests call this concurrently */
#  else
    wsf__resolve_calls++;
#  endif
#endif
    return locate(p, len, at, pos);
}

int wsf__utf8_finish(const uint8_t *p, size_t len, size_t *pos)
{
    /* Fast exit: no lead byte among the last three means nothing is pending. */
    if ((len < 1 || p[len - 1] < 0xC0) && (len < 2 || p[len - 2] < 0xC0) && (len < 3 || p[len - 3] < 0xC0)) {
        *pos = len;
        return 1;
    }
    return locate(p, len, len, pos);
}
