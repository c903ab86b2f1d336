/* Frame header encode/parse. */
#include "testutil.h"

static void test_header_roundtrip(void)
{
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 200, 65535, 65536, 65537, 0xFFFFFFFFu,
                                    UINT64_C(0x100000000), UINT64_C(0x7FFFFFFFFFFFFFFF)};
    static const uint8_t key[4] = {1, 2, 3, 4};
    size_t li;
    int fin, rsv, op, masked;
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (fin = 0; fin < 2; fin++)
            for (rsv = 0; rsv < 8; rsv++)
                for (op = 0; op < 16; op++)
                    for (masked = 0; masked < 2; masked++) {
                        uint8_t out[14 + 4];
                        wsf_header h;
                        size_t n, cut, want;
                        memset(out, 0xEE, sizeof out);
                        n = wsf_encode_header(out, fin, rsv, op, masked ? key : NULL, lens[li]);
                        want = 2 + (lens[li] < 126 ? 0 : lens[li] < 65536 ? 2 : 8) + (masked ? 4 : 0);
                        CHECK(n == want, "encode len %llu: %zu bytes, want %zu", (unsigned long long)lens[li], n, want);
                        CHECK(out[n] == 0xEE, "encode wrote past its length");
                        for (cut = 0; cut < n; cut++)
                            CHECK(wsf_parse_header(out, cut, &h) == 0, "partial header %zu/%zu parsed", cut, n);
                        memset(&h, 0x77, sizeof h);
                        CHECK(wsf_parse_header(out, n + 4, &h) == (int)n, "parse length");
                        CHECK(h.length == lens[li] && h.fin == fin && h.rsv == rsv && h.opcode == op &&
                                  h.masked == masked && h.header_len == n && h.flags == 0,
                              "fields len=%llu fin=%d rsv=%d op=%d", (unsigned long long)lens[li], fin, rsv, op);
                        CHECK(masked ? memcmp(h.key, key, 4) == 0 : memcmp(h.key, "\0\0\0\0", 4) == 0, "key");
                    }
}

static void test_header_flags(void)
{
    wsf_header h;
    uint8_t b[14];
    /* 16-bit form for 125: non-minimal */
    memcpy(b, "\x82\x7E\x00\x7D", 4);
    CHECK(wsf_parse_header(b, 4, &h) == 4 && h.length == 125 && h.flags == WSF_HDR_NONMINIMAL, "16-bit 125");
    memcpy(b, "\x82\x7E\x00\x7E", 4);
    CHECK(wsf_parse_header(b, 4, &h) == 4 && h.length == 126 && h.flags == 0, "16-bit 126");
    /* 64-bit form for 65535 and for 5: non-minimal */
    memcpy(b, "\x82\x7F\x00\x00\x00\x00\x00\x00\xFF\xFF", 10);
    CHECK(wsf_parse_header(b, 10, &h) == 10 && h.length == 65535 && h.flags == WSF_HDR_NONMINIMAL, "64-bit 65535");
    memcpy(b, "\x82\x7F\x00\x00\x00\x00\x00\x00\x00\x05", 10);
    CHECK(wsf_parse_header(b, 10, &h) == 10 && h.length == 5 && h.flags == WSF_HDR_NONMINIMAL, "64-bit 5");
    memcpy(b, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK(wsf_parse_header(b, 10, &h) == 10 && h.length == 65536 && h.flags == 0, "64-bit 65536");
    /* MSB set */
    memcpy(b, "\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x01\xA1\xB2\xC3\xD4", 14);
    CHECK(wsf_parse_header(b, 14, &h) == 14 && h.length == (UINT64_C(1) << 63 | 1) && h.flags == WSF_HDR_LEN_MSB &&
              h.masked == 1 && memcmp(h.key, "\xA1\xB2\xC3\xD4", 4) == 0 && h.header_len == 14,
          "MSB");
    CHECK(wsf_parse_header(b, 13, &h) == 0, "MSB header truncated");
    /* encode of a length with the MSB produces what parse flags */
    CHECK(wsf_encode_header(b, 1, 0, 2, NULL, UINT64_C(1) << 63) == 10 && wsf_parse_header(b, 10, &h) == 10 &&
              h.flags == WSF_HDR_LEN_MSB,
          "encode MSB");
    CHECK(wsf_parse_header(b, 0, &h) == 0 && wsf_parse_header(b, 1, &h) == 0, "short");
    /* every first-two-byte combination parses to consistent fields */
    {
        unsigned x, y;
        for (x = 0; x < 256; x++)
            for (y = 0; y < 256; y++) {
                uint8_t f[14] = {0};
                int n;
                f[0] = (uint8_t)x; f[1] = (uint8_t)y;
                n = wsf_parse_header(f, 14, &h);
                CHECK(n == 2 + ((y & 127) == 126 ? 2 : (y & 127) == 127 ? 8 : 0) + ((y & 128) ? 4 : 0), "hl");
                CHECK(h.fin == x >> 7 && h.rsv == ((x >> 4) & 7) && h.opcode == (x & 15) && h.masked == y >> 7, "bits");
            }
    }
}

void test_header_register(void)
{
    t_run("header_roundtrip", test_header_roundtrip);
    t_run("header_flags", test_header_flags);
}
