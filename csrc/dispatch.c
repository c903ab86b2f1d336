/* Runtime CPU dispatch: picks the best usable kernel per primitive on first use.
   Each primitive's selection is ONE pointer to a const table entry, read and written atomically, so a race
   between first callers is benign (they all compute the same answer) and a reader never sees a torn pair. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1   /* getauxval */
#endif
#include "internal.h"

#if WSF_X86_64
#  if defined(_MSC_VER) && !defined(__clang__)
#    include <intrin.h>
#  else
#    include <cpuid.h>
#  endif
#  if defined(__APPLE__)
#    include <sys/sysctl.h>
#  endif
#endif
#if WSF_AARCH64 && defined(__linux__)
#  include <sys/auxv.h>
#endif

/* ---- atomics: plain pointer/word loads and stores that the compiler may not split or cache ---- */
#if defined(__GNUC__) || defined(__clang__)
#  define WSF_SHARED
#  define WSF_LOAD(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#  define WSF_STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#else
/* MSVC: aligned word/pointer-sized volatile accesses are single instructions; the data behind them is const. */
#  define WSF_SHARED volatile
#  define WSF_LOAD(p) (p)
#  define WSF_STORE(p, v) ((p) = (v))
#endif

/* ---- CPU capabilities ---- */
#define CAP_SSE2   (1u << 0)
#define CAP_SSSE3  (1u << 1)
#define CAP_AVX2   (1u << 2)
#define CAP_AVX512 (1u << 3)
#define CAP_NEON   (1u << 4)
#define CAP_VBMI2  (1u << 5)   /* on top of CAP_AVX512: only the avx512vbmi2 transcoder needs it */
#define CAP_VALID  (1u << 31)   /* detection done */

#if WSF_X86_64
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#  if defined(_MSC_VER) && !defined(__clang__)
    int x[4];
    __cpuidex(x, (int)leaf, (int)sub);
    r[0] = (unsigned)x[0]; r[1] = (unsigned)x[1]; r[2] = (unsigned)x[2]; r[3] = (unsigned)x[3];
#  else
    /* __cpuid_count + __get_cpuid_max exist in every gcc/clang cpuid.h (__get_cpuid_count only in gcc 7+) */
    if (leaf > (unsigned)__get_cpuid_max(leaf & 0x80000000u, NULL)) {
        r[0] = r[1] = r[2] = r[3] = 0;
        return;
    }
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#  endif
}

static unsigned long long xgetbv0(void)
{
#  if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#  else
    unsigned lo, hi;
    /* raw opcode: older assemblers lack the mnemonic, and no -mxsave is needed */
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#  endif
}

#  if defined(__APPLE__)
/* macOS enables AVX-512 state lazily on first use, so XCR0 can read "off"; the kernel's sysctl is the truth. */
static int apple_flag(const char *name)
{
    int v = 0;
    size_t n = sizeof v;
    return sysctlbyname(name, &v, &n, NULL, 0) == 0 && v != 0;
}
#  endif

static unsigned detect_caps(void)
{
    unsigned r1[4], r7[4], r0[4], caps = 0;
    unsigned long long xcr0 = 0;
    int os_avx = 0, os_avx512 = 0;
    cpuid(0, 0, r0);
    cpuid(1, 0, r1);
    if (r0[0] >= 7) cpuid(7, 0, r7); else r7[0] = r7[1] = r7[2] = r7[3] = 0;
    if (r1[3] & (1u << 26)) caps |= CAP_SSE2;
    if ((caps & CAP_SSE2) && (r1[2] & (1u << 9))) caps |= CAP_SSSE3;
    if (r1[2] & (1u << 27)) {                       /* OSXSAVE: XGETBV is usable */
        xcr0 = xgetbv0();
        os_avx = (xcr0 & 0x6) == 0x6;                /* XMM | YMM state */
        os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0; /* opmask | ZMM_Hi256 | Hi16_ZMM */
    }
#  if defined(__APPLE__)
    if (os_avx && !os_avx512)
        os_avx512 = apple_flag("hw.optional.avx512f") && apple_flag("hw.optional.avx512bw") &&
                    apple_flag("hw.optional.avx512vl") && apple_flag("hw.optional.avx512vbmi");
#  endif
    {
        int avx = (r1[2] & (1u << 28)) != 0, popcnt = (r1[2] & (1u << 23)) != 0;
        int avx2 = (r7[1] & (1u << 5)) != 0, bmi1 = (r7[1] & (1u << 3)) != 0, bmi2 = (r7[1] & (1u << 8)) != 0;
        int f = (r7[1] & (1u << 16)) != 0, bw = (r7[1] & (1u << 30)) != 0, vl = (r7[1] & (1u << 31)) != 0;
        int vbmi = (r7[2] & (1u << 1)) != 0;
        /* the AVX2/AVX-512 files are built with -mbmi -mbmi2 -mpopcnt, so those are required too */
        if ((caps & CAP_SSSE3) && os_avx && avx && avx2 && bmi1 && bmi2 && popcnt) caps |= CAP_AVX2;
        if ((caps & CAP_AVX2) && os_avx512 && f && bw && vl && vbmi) caps |= CAP_AVX512;
        if ((caps & CAP_AVX512) && (r7[2] & (1u << 6))) caps |= CAP_VBMI2;
    }
    return caps;
}
#elif WSF_AARCH64
static unsigned detect_caps(void)
{
#  if defined(__linux__) && defined(AT_HWCAP)
    /* Advanced SIMD is architecturally mandatory for Linux/aarch64, but honour a kernel that says otherwise. */
    unsigned long hw = getauxval(AT_HWCAP);
    return (hw & (1ul << 1)) ? CAP_NEON : 0;  /* HWCAP_ASIMD */
#  else
    return CAP_NEON;   /* baseline on aarch64 (macOS, Windows, BSD) */
#  endif
}
#else
static unsigned detect_caps(void) { return 0; }
#endif

static WSF_SHARED unsigned caps_word;   /* CAP_VALID | caps once detected */

static unsigned get_caps(void)
{
    unsigned c = WSF_LOAD(caps_word);
    if (!(c & CAP_VALID)) {
        c = detect_caps() | CAP_VALID;   /* deterministic: concurrent writers store the same value */
        WSF_STORE(caps_word, c);
    }
    return c;
}

/* ---- path tables, worst to best ---- */
struct mask_path { const char *name; wsf_mask_fn fn; unsigned need; };
struct utf8_path {
    const char *name; wsf_utf8_fn fn; unsigned need; wsf_fused_fn fused;
    const struct wsf_transcoder *transcoder;   /* NULL: the scalar one */
};

static const struct wsf_transcoder transcoder_scalar = {
    wsf__measure_scalar, wsf__to_ucs1_scalar, wsf__to_ucs2_scalar, wsf__to_ucs4_scalar, 0};
#if WSF_HAVE_AVX2
static const struct wsf_transcoder transcoder_avx2 = {
    wsf__measure_avx2, wsf__to_ucs1_avx2, wsf__to_ucs2_avx2, wsf__to_ucs4_scalar, 1u << 1 | 1u << 2};
#endif
#if WSF_HAVE_AVX512
static const struct wsf_transcoder transcoder_avx512 = {
    wsf__measure_avx512, wsf__to_ucs1_avx512, wsf__to_ucs2_avx512, wsf__to_ucs4_avx512,
    1u << 1 | 1u << 2 | 1u << 4};
#endif
#if WSF_HAVE_AVX512VBMI2
static const struct wsf_transcoder transcoder_avx512vbmi2 = {
    wsf__measure_avx512, wsf__to_ucs1_avx512vbmi2, wsf__to_ucs2_avx512vbmi2, wsf__to_ucs4_avx512,
    1u << 1 | 1u << 2 | 1u << 4};
#endif

static const struct mask_path mask_paths[] = {
    {"scalar", wsf__mask_scalar, 0},
#if WSF_HAVE_SSE2
    {"sse2", wsf__mask_sse2, CAP_SSE2},
#endif
#if WSF_HAVE_AVX2
    {"avx2", wsf__mask_avx2, CAP_AVX2},
#endif
#if WSF_HAVE_AVX512
    {"avx512", wsf__mask_avx512, CAP_AVX512},
#endif
#if WSF_HAVE_NEON
    {"neon", wsf__mask_neon, CAP_NEON},
#endif
};
static const struct utf8_path utf8_paths[] = {
    {"scalar", wsf__utf8_scalar, 0, NULL, NULL},
#if WSF_HAVE_SSSE3
    {"ssse3", wsf__utf8_ssse3, CAP_SSSE3, wsf__fused_ssse3, NULL},
#endif
#if WSF_HAVE_AVX2
    {"avx2", wsf__utf8_avx2, CAP_AVX2, wsf__fused_avx2, &transcoder_avx2},
#endif
#if WSF_HAVE_AVX512
    {"avx512", wsf__utf8_avx512, CAP_AVX512, wsf__fused_avx512, &transcoder_avx512},
#endif
#if WSF_HAVE_NEON
    {"neon", wsf__utf8_neon, CAP_NEON, wsf__fused_neon, NULL},
#endif
};
#define N_MASK ((int)(sizeof mask_paths / sizeof mask_paths[0]))
#define N_UTF8 ((int)(sizeof utf8_paths / sizeof utf8_paths[0]))

static const struct mask_path *WSF_SHARED cur_mask;
static const struct utf8_path *WSF_SHARED cur_utf8;

static int usable(unsigned need) { return (get_caps() & need) == need; }

static const struct mask_path *best_mask(void)
{
    int i = N_MASK - 1;
    while (i > 0 && !usable(mask_paths[i].need)) i--;
    return &mask_paths[i];
}
static const struct utf8_path *best_utf8(void)
{
    int i = N_UTF8 - 1;
    while (i > 0 && !usable(utf8_paths[i].need)) i--;
    return &utf8_paths[i];
}

/* First use: kept out of line so that the hot wrappers stay small leaf-like functions. */
#if defined(__GNUC__) || defined(__clang__)
#  define WSF_COLD __attribute__((noinline, cold))
#elif defined(_MSC_VER)
#  define WSF_COLD __declspec(noinline)
#else
#  define WSF_COLD
#endif
static WSF_COLD const struct mask_path *init_mask(void)
{
    const struct mask_path *m = best_mask();
    WSF_STORE(cur_mask, m);
    return m;
}
static WSF_COLD const struct utf8_path *init_utf8(void)
{
    const struct utf8_path *u = best_utf8();
    WSF_STORE(cur_utf8, u);
    return u;
}

static inline const struct mask_path *get_mask(void)
{
    const struct mask_path *m = WSF_LOAD(cur_mask);
    return m ? m : init_mask();
}
static inline const struct utf8_path *get_utf8(void)
{
    const struct utf8_path *u = WSF_LOAD(cur_utf8);
    return u ? u : init_utf8();
}

wsf_mask_fn wsf__mask_kernel(void) { return get_mask()->fn; }
wsf_utf8_fn wsf__utf8_kernel(void) { return get_utf8()->fn; }
/* The fused unmask+validate kernel follows the UTF-8 path selection. */
wsf_fused_fn wsf__fused_kernel(void) { return get_utf8()->fused; }
/* So does the transcoder of valid UTF-8. */
const struct wsf_transcoder *wsf__transcoder(void)
{
    const struct wsf_transcoder *t = get_utf8()->transcoder;
#if WSF_HAVE_AVX512VBMI2
    if (t == &transcoder_avx512 && usable(CAP_VBMI2)) return &transcoder_avx512vbmi2;
#endif
    return t ? t : &transcoder_scalar;
}
int wsf__cpu_has_vbmi2(void) { return WSF_HAVE_AVX512VBMI2 && usable(CAP_VBMI2); }
int wsf_utf8_transcode_vectorized(int width)
{
    unsigned v = wsf__transcoder()->vector;
    return width == 0 ? v != 0 : (width == 1 || width == 2 || width == 4) && (v >> width & 1);
}

void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase)
{
    /* Tiny payloads (control frames, short messages): a byte loop beats any vector setup + indirect call. */
    if (len < 32) {   /* (also len == 0 with NULL pointers: nothing is touched) */
        wsf__mask_short(dst, src, len, key, phase);
        return;
    }
    get_mask()->fn(dst, src, len, key, phase);
}

const char *wsf_get_path(int prim)
{
    if (prim == WSF_PRIM_MASK) return get_mask()->name;
    if (prim == WSF_PRIM_UTF8) return get_utf8()->name;
    return NULL;
}

static int is_auto(const char *name) { return name == NULL || strcmp(name, "auto") == 0; }

int wsf_set_path(int prim, const char *name)
{
    int i;
    if (prim == WSF_PRIM_MASK) {
        if (is_auto(name)) { WSF_STORE(cur_mask, best_mask()); return 0; }
        for (i = 0; i < N_MASK; i++)
            if (strcmp(mask_paths[i].name, name) == 0 && usable(mask_paths[i].need)) {
                WSF_STORE(cur_mask, &mask_paths[i]);
                return 0;
            }
        return -1;
    }
    if (prim == WSF_PRIM_UTF8) {
        if (is_auto(name)) { WSF_STORE(cur_utf8, best_utf8()); return 0; }
        for (i = 0; i < N_UTF8; i++)
            if (strcmp(utf8_paths[i].name, name) == 0 && usable(utf8_paths[i].need)) {
                WSF_STORE(cur_utf8, &utf8_paths[i]);
                return 0;
            }
        return -1;
    }
    return -1;
}

int wsf_list_paths(int prim, const char **names, int max)
{
    int i, n = 0, total;
    if (prim == WSF_PRIM_MASK) total = N_MASK;
    else if (prim == WSF_PRIM_UTF8) total = N_UTF8;
    else return 0;
    for (i = 0; i < total; i++) {
        unsigned need = prim == WSF_PRIM_MASK ? mask_paths[i].need : utf8_paths[i].need;
        const char *nm = prim == WSF_PRIM_MASK ? mask_paths[i].name : utf8_paths[i].name;
        if (!usable(need)) continue;
        if (names) {
            if (n >= max) break;
            names[n] = nm;
        }
        n++;
    }
    return n;
}
