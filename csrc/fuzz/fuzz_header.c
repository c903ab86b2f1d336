/* libFuzzer: header parsing never reads past len, agrees with a straightforward decoding, and re-encoding
   a minimal header gives back the same bytes. */
#include <stdlib.h>
#include <string.h>
#include "../internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wsf_header h;
    uint8_t *buf = malloc(size ? size : 1), enc[14];
    int n;
    size_t want, m;
    memcpy(buf, data, size);
    n = wsf_parse_header(buf, size, &h);
    if (size < 2) {
        if (n != 0) abort();
    } else {
        unsigned l7 = buf[1] & 127;
        want = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (buf[1] >> 7) * 4;
        if (size < want) {
            if (n != 0) abort();
        } else {
            uint64_t L = l7;
            size_t i;
            if ((size_t)n != want || h.header_len != want) abort();
            if (l7 == 126) L = (uint64_t)buf[2] << 8 | buf[3];
            if (l7 == 127) for (L = 0, i = 0; i < 8; i++) L = L << 8 | buf[2 + i];
            if (h.length != L || h.fin != buf[0] >> 7 || h.rsv != ((buf[0] >> 4) & 7) || h.opcode != (buf[0] & 15))
                abort();
            if (((h.flags & WSF_HDR_LEN_MSB) != 0) != (l7 == 127 && (L >> 63))) abort();
            if (((h.flags & WSF_HDR_NONMINIMAL) != 0) != ((l7 == 126 && L < 126) || (l7 == 127 && L < 65536)))
                abort();
            m = wsf_encode_header(enc, h.fin, h.rsv, h.opcode, h.masked ? h.key : NULL, h.length);
            if (!(h.flags & WSF_HDR_NONMINIMAL) && (m != want || memcmp(enc, buf, m) != 0)) abort();
            if ((h.flags & WSF_HDR_NONMINIMAL) && m >= want) abort();
        }
    }
    free(buf);
    return 0;
}
