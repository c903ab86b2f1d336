"""Masking and UTF-8 validation, every form, on both implementations."""

import os
import random

import pytest

KEY = b"\x12\x34\x56\x78"


def ref_mask(data, key, offset=0):
    return bytes(b ^ key[(i + offset) & 3] for i, b in enumerate(data))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 1000, 1023, 1024, 1025, 4099])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5])
def test_apply_mask_forms(impl, size, offset):
    data = os.urandom(size)
    expected = ref_mask(data, KEY, offset)
    assert impl.apply_mask(data, KEY, offset) == expected
    assert impl.apply_mask(bytearray(data), bytearray(KEY), offset) == expected
    assert impl.apply_mask(memoryview(data), KEY, offset) == expected
    buf = bytearray(data)
    impl.apply_mask_inplace(buf, KEY, offset)
    assert buf == expected
    dst = bytearray(size + 3)
    impl.apply_mask_into(dst, data, KEY, offset)
    assert dst[:size] == expected and dst[size:] == b"\0\0\0"


def test_mask_chunk_by_chunk(impl):
    data = os.urandom(1001)
    out = b""
    pos = 0
    for step in (1, 2, 3, 5, 8, 13, 21, 400, 548):
        out += impl.apply_mask(data[pos : pos + step], KEY, pos)
        pos += step
    assert out == ref_mask(data, KEY)


def test_mask_errors(impl):
    with pytest.raises(ValueError):
        impl.apply_mask(b"abc", b"123")
    with pytest.raises(TypeError):
        impl.apply_mask_inplace(b"immutable", KEY)
    with pytest.raises(ValueError):
        impl.apply_mask_into(bytearray(2), b"abc", KEY)


VALID = [
    b"",
    b"plain ascii",
    "héllo wörld".encode(),
    "日本語テキスト".encode(),
    "emoji 😀🎉".encode(),
    "\u007f\u0080\u07ff\u0800\uffff\U00010000\U0010ffff".encode(),
    "\ud7ff\ue000".encode(),
]
INVALID = [
    (b"\x80", 0),
    (b"\xbf", 0),
    (b"\xc0\x80", 0),
    (b"\xc1\xbf", 0),
    (b"\xe0\x9f\xbf", 1),
    (b"\xed\xa0\x80", 1),
    (b"\xf0\x8f\xbf\xbf", 1),
    (b"\xf4\x90\x80\x80", 1),
    (b"\xf8\x88\x80\x80\x80", 0),
    (b"\xfe", 0),
    (b"abc\xe2\x28\xa1", 4),
]


@pytest.mark.parametrize("data", VALID)
def test_valid_utf8(impl, data):
    assert impl.validate_utf8(data)
    v = impl.Utf8Validator()
    for i in range(len(data)):
        assert v.feed(data[i : i + 1])
    assert v.complete and v.error_offset is None


@pytest.mark.parametrize("data,offset", INVALID)
def test_invalid_utf8(impl, data, offset):
    assert not impl.validate_utf8(data)
    for split in range(len(data) + 1):
        v = impl.Utf8Validator()
        ok = v.feed(b"xy" + data[:split]) and v.feed(data[split:])
        assert not ok and v.error_offset == offset + 2
        assert not v.complete
        assert not v.feed(b"a")  # stays failed


@pytest.mark.parametrize("data", [b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98"])
def test_truncated_is_incomplete_not_invalid(impl, data):
    assert not impl.validate_utf8(data)
    v = impl.Utf8Validator()
    assert v.feed(data) and not v.complete and v.error_offset is None
    v.reset()
    assert v.feed(b"ok") and v.complete


def test_random_mask_is_random(impl):
    keys = {impl.random_mask() for _ in range(1000)}
    assert all(len(k) == 4 for k in keys)
    assert len(keys) > 990


def test_cpu_paths(impl):
    paths = impl.cpu_paths()
    assert set(paths) == {"mask", "utf8"}
    for prim, path in paths.items():
        assert path in impl.available_paths(prim)
    with pytest.raises(ValueError):
        impl.available_paths("nope")
    with pytest.raises(ValueError):
        impl.set_path("mask", "no-such-isa")


def test_each_cpu_path_agrees(impl):
    """Every path usable on this CPU, forced in turn, gives the reference result."""
    rng = random.Random(7)
    blobs = [bytes(rng.randrange(256) for _ in range(n)) for n in (0, 1, 17, 64, 100, 1025)]
    text = ("aé日😀" * 300).encode()
    try:
        for prim in ("mask", "utf8"):
            for path in impl.available_paths(prim):
                impl.set_path(prim, path)
                assert impl.cpu_paths()[prim] == path
                for blob in blobs:
                    for off in range(4):
                        assert impl.apply_mask(blob, KEY, off) == ref_mask(blob, KEY, off)
                assert impl.validate_utf8(text)
                for cut in (1, 2, 3, 100, len(text) - 1):
                    bad = text[:cut] + b"\xff" + text[cut:]
                    v = impl.Utf8Validator()
                    assert not v.feed(bad) and v.error_offset == cut
    finally:
        impl.set_path("mask", None)
        impl.set_path("utf8", None)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 31, 64, 1000, (1 << 16) - 1, 1 << 16, (1 << 16) + 5])
@pytest.mark.parametrize("data_type", [bytes, bytearray, memoryview])
@pytest.mark.parametrize("key_type", [bytes, bytearray])
def test_mask_and_utf8_agree_across_buffer_types(impl, size, data_type, key_type):
    """bytes and bytearray (each with its own unexported path below the GIL-release
    threshold) and any other buffer give the same results."""
    rng = random.Random(size)
    raw = bytes(rng.getrandbits(8) for _ in range(size))
    key = bytes(rng.getrandbits(8) for _ in range(4))
    expected = ref_mask(raw, key, 1)
    assert impl.apply_mask(data_type(raw), key_type(key), 1) == expected
    buf = bytearray(raw)
    impl.apply_mask_inplace(buf, key_type(key), 1)
    assert buf == expected
    text = ("aé€😀" * (size // 10 + 1)).encode()[:size]
    want = True
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        want = False
    assert impl.validate_utf8(data_type(text)) is want
    # The incremental validator: the same verdict and offset as for the bytes.
    reference = impl.Utf8Validator()
    verdict = reference.feed(text)
    validator = impl.Utf8Validator()
    assert validator.feed(data_type(text)) is verdict
    assert validator.error_offset == reference.error_offset
