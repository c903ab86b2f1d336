/* The byte-wise UTF-8 reference of the libFuzzer harnesses, written independently of the library. */
#ifndef WSF_FUZZ_REF_UTF8_H
#define WSF_FUZZ_REF_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* -1 valid, -2 truncated, else first impossible byte (Unicode Table 3-7) */
static long ref(const uint8_t *p, size_t len)
{
    size_t i;
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    for (i = 0; i < len; i++) {
        unsigned c = p[i];
        if (need) {
            if (c < lo || c > hi) return (long)i;
            need--; lo = 0x80; hi = 0xBF;
        } else if (c < 0x80) {
        } else if (c >= 0xC2 && c <= 0xDF) { need = 1; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; lo = c == 0xE0 ? 0xA0 : 0x80; hi = c == 0xED ? 0x9F : 0xBF; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; lo = c == 0xF0 ? 0x90 : 0x80; hi = c == 0xF4 ? 0x8F : 0xBF; }
        else return (long)i;
    }
    return need ? -2 : -1;
}
#endif
