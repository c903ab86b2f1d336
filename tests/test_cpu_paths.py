"""Every CPU path of the C primitives, forced in turn, against the pure-Python primitives:
masking at every length from 0 to 1100 and some large ones, every key phase, source and
destination at every alignment; UTF-8 validation whole and fed in two pieces at every
split point, valid and broken text across the vector widths. (The C core has its own
exhaustive tests under ASan/UBSan: ``make -C csrc test``.)"""

import random

import pytest

KEY = b"\x9a\x3c\x01\xf7"
LARGE = [4095, 4096, 65535, 65536, 65537, 1 << 20]


@pytest.fixture
def c_and_py(both):
    c, py = both
    yield c, py
    c.set_path("mask", None)
    c.set_path("utf8", None)


def paths(c, prim):
    return c.available_paths(prim)


def test_mask_every_length_and_phase(c_and_py):
    c, py = c_and_py
    rng = random.Random(1)
    data = bytes(rng.randrange(256) for _ in range(1100))
    big = bytes(rng.randrange(256) for _ in range(max(LARGE)))
    expected = {(n, ph): py.apply_mask(data[:n], KEY, ph) for n in range(1101) for ph in range(4)}
    for path in paths(c, "mask"):
        c.set_path("mask", path)
        for (n, ph), want in expected.items():
            assert c.apply_mask(data[:n], KEY, ph) == want, (path, n, ph)
        for n in LARGE:
            assert c.apply_mask(big[:n], KEY, 3) == py.apply_mask(big[:n], KEY, 3), (path, n)


def test_mask_every_alignment(c_and_py):
    c, py = c_and_py
    rng = random.Random(2)
    raw = bytes(rng.randrange(256) for _ in range(1200))
    for path in paths(c, "mask"):
        c.set_path("mask", path)
        for n in (1, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 255, 257, 513, 1030):
            for src_off in range(0, 64, 7):
                src = memoryview(raw)[src_off : src_off + n]
                want = py.apply_mask(bytes(src), KEY, src_off)
                for dst_off in range(0, 64, 9):
                    dst = bytearray(n + 64 + 3)
                    c.apply_mask_into(memoryview(dst)[dst_off:], src, KEY, src_off)
                    assert bytes(dst[dst_off : dst_off + n]) == want, (path, n, src_off, dst_off)
                    assert not any(dst[:dst_off]) and not any(dst[dst_off + n :])
                buf = bytearray(64 + n)
                view = memoryview(buf)[src_off : src_off + n]
                view[:] = src
                c.apply_mask_inplace(view, KEY, src_off)
                assert bytes(view) == want, (path, n, src_off, "in place")


TEXTS = {
    "french": "le café « déjà » — l’été ",
    "cjk": "日本語のテキスト",
    "emoji": "a😀é🎉日",
}


def text_bytes(alphabet, n, seed):
    rng = random.Random(seed)
    out = b""
    while len(out) < n:
        out += rng.choice(alphabet).encode()
    return out


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_utf8_every_split(c_and_py, name):
    c, py = c_and_py
    valid = text_bytes(TEXTS[name], 150, 3)
    # broken at a lead, a continuation, and by truncation
    cases = [valid, valid[:-1], valid[:70] + b"\x80" + valid[70:], valid[:90] + b"\xf5" + valid[90:],
             valid[:40] + b"\xed\xa0\x80" + valid[40:]]  # fmt: skip

    def outcome(impl, data, cut):
        v = impl.Utf8Validator()
        ok = v.feed(data[:cut]) and v.feed(data[cut:])
        return ok, v.error_offset, v.complete

    want = {(i, cut): outcome(py, data, cut) for i, data in enumerate(cases)
            for cut in range(len(data) + 1)}  # fmt: skip
    for path in paths(c, "utf8"):
        c.set_path("utf8", path)
        for i, data in enumerate(cases):
            assert c.validate_utf8(data) == py.validate_utf8(data), (path, i)
            for cut in range(len(data) + 1):
                assert outcome(c, data, cut) == want[i, cut], (path, i, cut)


def test_utf8_across_vector_widths(c_and_py):
    c, py = c_and_py
    base = text_bytes(TEXTS["emoji"], 1100, 5)
    for path in paths(c, "utf8"):
        c.set_path("utf8", path)
        for n in list(range(0, 300)) + [511, 512, 513, 1023, 1024, 1025]:
            data = base[:n]
            assert c.validate_utf8(data) == py.validate_utf8(data), (path, n)
            if n > 8:
                bad = data[: n - 5] + b"\xc0" + data[n - 5 :]
                v, w = c.Utf8Validator(), py.Utf8Validator()
                assert (v.feed(bad), v.error_offset) == (w.feed(bad), w.error_offset), (path, n)
