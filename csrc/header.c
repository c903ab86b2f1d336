/* RFC 6455 section 5.2 frame header parse/encode. Parsing reports facts (flags) and never rejects. */
#include "internal.h"

int wsf_parse_header(const uint8_t *buf, size_t len, wsf_header *h)
{
    unsigned l7, hl, i;
    uint64_t length;
    uint8_t flags = 0;
    if (len < 2) return 0;
    l7 = buf[1] & 0x7Fu;
    hl = 2u + (l7 == 126 ? 2u : l7 == 127 ? 8u : 0u) + ((buf[1] & 0x80u) ? 4u : 0u);
    if (len < hl) return 0;
    if (l7 < 126) {
        length = l7;
    } else if (l7 == 126) {
        length = ((uint64_t)buf[2] << 8) | buf[3];
        if (length < 126) flags |= WSF_HDR_NONMINIMAL;
    } else {
        length = 0;
        for (i = 0; i < 8; i++) length = (length << 8) | buf[2 + i];
        if (length <= 0xFFFF) flags |= WSF_HDR_NONMINIMAL;
        if (length >> 63) flags |= WSF_HDR_LEN_MSB;
    }
    h->length = length;
    h->fin = (uint8_t)(buf[0] >> 7);
    h->rsv = (uint8_t)((buf[0] >> 4) & 7u);
    h->opcode = (uint8_t)(buf[0] & 15u);
    h->masked = (uint8_t)(buf[1] >> 7);
    if (h->masked) memcpy(h->key, buf + hl - 4, 4);
    else memset(h->key, 0, 4);
    h->header_len = (uint8_t)hl;
    h->flags = flags;
    return (int)hl;
}

size_t wsf_encode_header(uint8_t out[14], int fin, int rsv, int opcode, const uint8_t *key, uint64_t length)
{
    size_t n = 2;
    unsigned i;
    uint8_t mbit = key ? 0x80u : 0u;
    out[0] = (uint8_t)((fin ? 0x80u : 0u) | (((unsigned)rsv & 7u) << 4) | ((unsigned)opcode & 15u));
    if (length < 126) {
        out[1] = (uint8_t)(mbit | length);
    } else if (length <= 0xFFFF) {
        out[1] = (uint8_t)(mbit | 126u);
        out[2] = (uint8_t)(length >> 8);
        out[3] = (uint8_t)length;
        n = 4;
    } else {
        out[1] = (uint8_t)(mbit | 127u);
        for (i = 0; i < 8; i++) out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
        n = 10;
    }
    if (key) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    return n;
}
