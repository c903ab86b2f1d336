#!/usr/bin/env python3
"""Write the seed corpus of fuzz_decoder.py into fuzz/corpus/ (deterministic).

    python fuzz/make_corpus.py [--check]

Each seed is an input in fuzz_decoder's layout: 4 option bytes, split points, then a
stream of frames written here by hand (no CSPRNG: fixed masking keys), so the files are
the same on every run. ``--check`` exits 1 if the directory differs from what this
script writes, so the committed seeds stay reproducible. Files named ``finding-*`` are
not written here: they are the reproducers of fixed findings, moved in by hand from
fuzz/findings/ (regression seeds), and the check leaves them alone.
"""

import hashlib
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
FINDING = "finding-"  # reproducers of fixed findings (kept by hand, see the docstring)

CLIENT = 0x01
NO_ASSEMBLE = 0x02
TEXT_BYTES = 0x04
ANY_MASKING = 0x08
NONMINIMAL = 0x10
ANY_CLOSE = 0x20
DEFLATE = 0x40
FRAME_LIMIT = 0x80

KEY = b"\x37\xfa\x21\x3d"


def mask(data, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, key=KEY, length_form=None):
    """One frame; ``length_form`` 126 or 127 forces a (possibly non-minimal) length form."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    m = 0x80 if masked else 0
    form = length_form or (n if n < 126 else 126 if n < 65536 else 127)
    if form < 126:
        head = bytes((b0, m | n))
    elif form == 126:
        head = bytes((b0, m | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, m | 127)) + struct.pack("!Q", n)
    if masked:
        return head + key + mask(payload, key)
    return head + payload


def declared(opcode, length, masked=True, fin=True):
    """A header declaring ``length`` bytes (64-bit form), with no payload after it."""
    b0 = (0x80 if fin else 0) | opcode
    head = bytes((b0, (0x80 if masked else 0) | 127)) + struct.pack("!Q", length)
    return head + (KEY if masked else b"")


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def deflate_message(data, wbits=15):
    c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def seed(flags, stream, limits=0, dfl=0, splits=()):
    head = bytes((flags, limits, dfl, len(splits)))
    return head + b"".join(struct.pack("!H", s) for s in splits) + stream


def streams(masked):
    """(name, stream) pairs of frames as a peer of the decoder's role would send them."""
    f = lambda *a, **k: frame(*a, masked=masked, **k)  # noqa: E731
    text = "h\u00e9llo w\u00f6rld \U0001f600".encode("utf-8")
    # Seeds stay under fuzz_decoder's -max_len (4096): a 64-bit length frame is cut.
    big = bytes(range(256)) * 300  # 76,800 bytes: 64-bit length form
    yield "text", f(1, text)
    yield "text_empty", f(1)
    yield "binary", f(2, b"\x00\x01\x02\xff" * 10)
    yield "binary_126", f(2, b"x" * 126)
    yield "binary_4000", f(2, b"y" * 4000)
    yield "binary_64bit_partial", f(2, big)[:3000]
    yield "fragmented_text", f(1, text[:9], fin=False) + f(0, text[9:14], fin=False) + f(0, text[14:])
    yield "fragmented_binary_empty", f(2, b"", fin=False) + f(0, b"", fin=False) + f(0, b"")
    yield "ping_pong", f(9, b"ping!") + f(10, b"pong!") + f(9)
    yield "ping_inside_fragments", f(1, b"ab", fin=False) + f(9, b"p") + f(0, b"cd")
    yield "close_1000", f(8, close_payload(1000, b"bye"))
    yield "close_empty", f(8)
    yield "close_3000", f(8, close_payload(3000, "\u00e9".encode()))
    yield "close_1005_invalid", f(8, close_payload(1005))
    yield "close_5000", f(8, close_payload(5000))
    yield "close_1byte", f(8, b"\x03")
    yield "close_bad_utf8", f(8, close_payload(1000, b"\xc3\x28"))
    yield "after_close", f(8, close_payload(1000)) + f(1, b"late")
    yield "utf8_invalid", f(1, b"ok \xed\xa0\x80")
    yield "utf8_split_across_fragments", f(1, b"\xf0\x9f", fin=False) + f(0, b"\x98\x80")
    yield "utf8_truncated", f(1, b"abc\xe2\x82")
    yield "utf8_overlong", f(1, b"\xc0\xaf")
    yield "reserved_opcode", f(3, b"x")
    yield "reserved_control_opcode", f(0xB)
    yield "rsv2", f(1, b"x", rsv=2)
    yield "rsv1_uncompressed", f(2, b"x", rsv=4)
    yield "ping_fragmented", f(9, b"x", fin=False)
    yield "ping_126", f(9, b"p" * 126)
    yield "continuation_first", f(0, b"x")
    yield "text_inside_fragments", f(1, b"a", fin=False) + f(1, b"b")
    yield "nonminimal_16", f(2, b"abc", length_form=126)
    yield "nonminimal_64", f(2, b"abc", length_form=127)
    yield "length_msb", bytes((0x82, (0x80 if masked else 0) | 127)) + b"\x80" + b"\x00" * 7
    yield "declared_2_62", declared(2, 1 << 62, masked)
    yield "declared_1gib_cont", f(2, b"", fin=False) + declared(0, 1 << 30, masked, fin=False)
    yield "many_messages", b"".join(f(1 + (i % 2), bytes([65 + i % 26]) * i) for i in range(40))
    yield "empty_continuation_flood", f(2, b"a", fin=False) + f(0, fin=False) * 200 + f(0)
    # Wrong masking for the role: masked to a client, unmasked to a server.
    yield "wrong_masking", frame(1, b"hi", masked=not masked)


def compressed_streams(masked):
    f = lambda *a, **k: frame(*a, masked=masked, **k)  # noqa: E731
    text = ("compress me " * 40).encode()
    z = deflate_message(text)
    yield "deflate_text", f(1, z, rsv=4)
    yield "deflate_fragmented", f(1, z[:7], fin=False, rsv=4) + f(0, z[7:20], fin=False) + f(0, z[20:])
    yield "deflate_two_messages", f(1, z, rsv=4) + f(2, deflate_message(b"\x00" * 5000), rsv=4)
    yield "deflate_plain_then_compressed", f(1, b"plain") + f(1, z, rsv=4)
    yield "deflate_bomb", f(2, deflate_message(b"\x00" * 2_000_000), rsv=4)
    yield "deflate_corrupt", f(2, b"\xff\xff\xff\xff\x00", rsv=4)
    yield "deflate_bfinal", f(2, zlib.compress(b"x" * 100)[2:-4], rsv=4)
    yield "deflate_rsv1_on_continuation", f(2, z, fin=False, rsv=4) + f(0, b"", rsv=4)
    yield "deflate_bad_utf8", f(1, deflate_message(b"abc\xff"), rsv=4)
    yield "deflate_control_rsv1", f(9, b"", rsv=4)


def build():
    seeds = {}
    for role_flag, masked in ((0, True), (CLIENT, False)):
        role = "client" if role_flag else "server"
        for name, stream in streams(masked):
            seeds["%s_%s" % (role, name)] = seed(role_flag, stream)
            if name in ("fragmented_text", "text", "utf8_split_across_fragments",
                        "ping_inside_fragments", "binary_126", "close_1000"):
                # The same stream split byte by byte (first bytes) and in the middle.
                n = len(stream)
                cuts = (1, 2, 3, 5, n // 2, n - 1, n, 0)
                seeds["%s_%s_split" % (role, name)] = seed(role_flag, stream, splits=cuts)
                seeds["%s_%s_frames" % (role, name)] = seed(
                    role_flag | NO_ASSEMBLE | TEXT_BYTES, stream)
        for name, stream in compressed_streams(masked):
            seeds["%s_%s" % (role, name)] = seed(role_flag | DEFLATE, stream, dfl=0x0E)
            seeds["%s_%s_limited" % (role, name)] = seed(
                role_flag | DEFLATE | FRAME_LIMIT, stream, limits=0x98, dfl=0x31)
        seeds["%s_lenient" % role] = seed(
            role_flag | ANY_MASKING | NONMINIMAL | ANY_CLOSE,
            frame(2, b"abc", masked=not masked, length_form=126)
            + frame(8, close_payload(1005), masked=masked))
        seeds["%s_limits" % role] = seed(
            role_flag | FRAME_LIMIT, frame(2, b"x" * 200, masked=masked), limits=0x35)
    return seeds


def main(argv):
    seeds = build()
    if "--check" in argv:
        present = set(os.listdir(CORPUS)) if os.path.isdir(CORPUS) else set()
        present = {name for name in present if not name.startswith(FINDING)}
        bad = sorted(set(seeds) ^ present)
        for name, data in seeds.items():
            path = os.path.join(CORPUS, name)
            if name in present:
                with open(path, "rb") as f:
                    if f.read() != data:
                        bad.append(name)
        if bad:
            print("corpus differs from make_corpus.py: %s" % ", ".join(bad))
            return 1
        print("corpus: %d seeds, up to date" % len(seeds))
        return 0
    os.makedirs(CORPUS, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)
    digest = hashlib.sha256(b"".join(seeds[k] for k in sorted(seeds))).hexdigest()[:12]
    print("wrote %d seeds to %s (%s)" % (len(seeds), CORPUS, digest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
