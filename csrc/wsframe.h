/* wsframe: WebSocket (RFC 6455) frame primitives in plain C99.
   All functions are reentrant; the dispatch and random pools are thread-safe. */
#ifndef WSFRAME_H
#define WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XOR masking: dst[i] = src[i] ^ key[(phase + i) & 3] for i < len.
   dst == src is allowed (in place); otherwise the buffers must not overlap. Any alignment. */
void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);

/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
typedef struct { uint32_t opaque[4]; } wsf_utf8_state;   /* fixed size, plain data */
void wsf_utf8_init(wsf_utf8_state *st);
/* Feed the next chunk. Returns 1 if everything fed so far is a valid prefix of UTF-8 text (a chunk may end inside
   a still-possible multi-byte sequence: that is NOT invalid yet). Returns 0 at the first byte that makes the text
   impossible and sets *err to that byte's offset within THIS chunk. After a 0 return the state stays failed
   (further feeds return 0, err=0). err may be NULL. */
int wsf_utf8_feed(wsf_utf8_state *st, const uint8_t *data, size_t len, size_t *err);
/* 1 if the text fed so far is valid and ends on a character boundary (no sequence pending). */
int wsf_utf8_complete(const wsf_utf8_state *st);
/* One shot: 1 if data[0:len] is complete valid UTF-8; else 0 with *err = offset of the first impossible byte,
   or len if the text is only truncated (valid prefix, unfinished last sequence). */
int wsf_utf8_validate(const uint8_t *data, size_t len, size_t *err);
/* Fused: unmask src into dst exactly as wsf_mask (dst may equal src), and feed the unmasked bytes to st, in one
   pass over the data. Same return/err as wsf_utf8_feed. dst is fully written in every case. */
int wsf_unmask_utf8(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase,
                    wsf_utf8_state *st, size_t *err);

/* Valid UTF-8 (as accepted by wsf_utf8_validate) to fixed-width code units: the layouts of a CPython str.
   wsf_utf8_measure returns the number of characters of p[0:len] and sets *max_byte to its largest byte, which
   tells the width a character needs: >= 0xF0: 4 bytes, >= 0xC4: 2, else 1 (>= 0x80: not ASCII).
   wsf_utf8_to_ucs writes at most cap characters of `width` bytes (1, 2 or 4) to dst and returns how many it
   wrote. Input that is not valid UTF-8 gives wrong characters but is never read or written out of bounds. */
size_t wsf_utf8_measure(const uint8_t *p, size_t len, uint8_t *max_byte);
size_t wsf_utf8_to_ucs(void *dst, size_t cap, int width, const uint8_t *p, size_t len);
/* 1 if the selected UTF-8 path transcodes to `width`-byte units (1, 2, 4; 0: any width) with vectors; 0 if
   it uses the portable byte loop, which is no faster than a good scalar decoder such as CPython's (a caller
   that has one may prefer it then). */
int wsf_utf8_transcode_vectorized(int width);
/* Frame header (RFC 6455 5.2). */
typedef struct { uint64_t length; uint8_t fin, rsv /* 3 bits, 0..7 */, opcode, masked; uint8_t key[4];
                 uint8_t header_len; uint8_t flags; } wsf_header;
#define WSF_HDR_NONMINIMAL 1   /* length encoded in a longer form than needed */
#define WSF_HDR_LEN_MSB    2   /* 64-bit length with its most significant bit set */
/* Returns the header length (2..14) and fills *h when buf holds a whole header; 0 if more bytes are needed
   (*h untouched). Never rejects anything: it reports facts in h->flags; the caller decides what is an error. */
int wsf_parse_header(const uint8_t *buf, size_t len, wsf_header *h);
/* Writes a header for a payload of `length` bytes, minimal length form; key NULL = unmasked.
   Returns bytes written (2..14). */
size_t wsf_encode_header(uint8_t out[14], int fin, int rsv, int opcode, const uint8_t *key, uint64_t length);

/* Masking keys from the OS CSPRNG, drawn in blocks into a per-thread pool; fork-safe and thread-safe.
   Returns 0 on success, -1 if the OS generator failed. */
int wsf_random_key(uint8_t key[4]);
int wsf_random_bytes(uint8_t *out, size_t n);

/* Runtime CPU dispatch. */
enum { WSF_PRIM_MASK = 0, WSF_PRIM_UTF8 = 1, WSF_PRIM_COUNT = 2 };
/* Path in use: "scalar", "sse2", "ssse3", "avx2", "avx512", "neon"; NULL for an unknown prim. */
const char *wsf_get_path(int prim);
/* Force a path: 0 ok; -1 unknown or not usable on this CPU (nothing changes). NULL or "auto" = best path. */
int wsf_set_path(int prim, const char *name);
/* Paths usable on this CPU, worst to best. Writes at most max names and returns how many it wrote;
   with names == NULL returns the total number usable. */
int wsf_list_paths(int prim, const char **names, int max);

#ifdef __cplusplus
}
#endif
#endif /* WSFRAME_H */
