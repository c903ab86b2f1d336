/* Minimal test harness: a "case" is one test function run on one path; it fails if any CHECK fails. */
#ifndef WSF_TESTUTIL_H
#define WSF_TESTUTIL_H
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE 1   /* mmap flags, fork, pipe under -std=c99 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../internal.h"

extern int t_case_failures;   /* CHECK failures in the running case */
extern const char *t_case_name;

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            if (t_case_failures++ < 10) {                                                    \
                fprintf(stderr, "FAIL %s (%s:%d): %s: ", t_case_name, __FILE__, __LINE__, #cond); \
                fprintf(stderr, __VA_ARGS__);                                                \
                fputc('\n', stderr);                                                         \
            }                                                                                \
        }                                                                                    \
    } while (0)

/* Bail out of a test function after a flood of failures (keeps output readable). */
#define CHECK_BAIL() do { if (t_case_failures > 50) return; } while (0)

typedef void (*test_fn)(void);
void t_run(const char *name, test_fn fn);

/* deterministic PRNG for test data */
uint64_t t_rand(void);
void t_seed(uint64_t s);

/* reference implementations, written independently of the library */
void ref_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);
/* returns -1 if valid and complete, -2 if valid but truncated, else offset of the first impossible byte */
long ref_utf8(const uint8_t *p, size_t len);

/* text generators: fill buf with len bytes of valid UTF-8 ending on a boundary (ASCII padding at the end).
   kind: 0 ASCII, 1 two-byte heavy, 2 three-byte, 3 four-byte, 4 mixed */
void gen_text(uint8_t *buf, size_t len, int kind);

void test_mask_register(void);
void test_utf8_register(void);
void test_header_register(void);
void test_random_register(void);
void test_guard_register(void);
void test_threads_register(void);
void test_dispatch_register(void);
void test_transcode_register(void);
#endif
