"""One argument contract at the API boundary, the same in both implementations (issue 13).

The parity table calls every public callable with every class of bad argument in each of
its argument slots and demands the same outcome on the C and the Python implementation:
the same exception class, or the same result. The named tests pin the contract itself
(which class, which advice) and the reproducers of the issue.
"""

import array
import math

import pytest

from wsframe import _impl

KEY = b"\x01\x02\x03\x04"


def strided():
    return memoryview(b"abcdefgh")[::2]


def int_format():
    return memoryview(array.array("i", [1, 2]))


def two_dim():
    return memoryview(bytearray(b"abcdefgh")).cast("B", (2, 4))


def readonly():
    return memoryview(b"abcd")


# Every class of bad (or odd) argument; factories, so each call gets a fresh object.
BAD = {
    "None": lambda: None,
    "int": lambda: 5,
    "float": lambda: 1.5,
    "nan": lambda: math.nan,
    "bool": lambda: True,
    "str": lambda: "abcd",
    "list": lambda: [1, 2, 3, 4],
    "huge": lambda: 1 << 70,
    "negative": lambda: -1,
    "zero": lambda: 0,
    "empty-bytes": lambda: b"",
    "bytes5": lambda: b"abcde",
    "bytearray4": lambda: bytearray(b"abcd"),
    "strided-view": strided,
    "int-format-view": int_format,
    "2d-view": two_dim,
    "readonly-view": readonly,
    "object": object,
}


def _decoder(impl):
    return impl.FrameDecoder("server")


def _encoder(impl):
    return impl.FrameEncoder("server")  # (unmasked: the same bytes from both)


# (name, function(impl, *args), good arguments): each slot is replaced in turn.
CALLABLES = [
    ("apply_mask", lambda i, *a: i.apply_mask(*a), (b"payload", KEY, 1)),
    ("apply_mask_inplace", lambda i, *a: i.apply_mask_inplace(*a), (bytearray(b"payload"), KEY, 2)),
    ("apply_mask_into", lambda i, *a: i.apply_mask_into(*a), (bytearray(10), b"payload", KEY, 3)),
    ("validate_utf8", lambda i, *a: i.validate_utf8(*a), (b"text",)),
    ("Utf8Validator.feed", lambda i, *a: i.Utf8Validator().feed(*a), (b"text",)),
    ("available_paths", lambda i, *a: i.available_paths(*a), ("mask",)),
    ("set_path", lambda i, *a: i.set_path(*a), ("mask", None)),
    ("parse_header", lambda i, *a: i.parse_header(*a), (b"\x81\x85abcdhello", 0)),
    ("encode_header", lambda i, a, b, c, d, e: i.encode_header(a, b, fin=c, rsv=d, mask=e),
     (1, 5, True, 0, KEY)),
    ("parse_close", lambda i, *a: i.parse_close(*a), (b"\x03\xe8ok",)),
    ("build_close", lambda i, *a: i.build_close(*a), (1000, "bye")),
    ("FrameDecoder", lambda i, a, b, c, d, e, f: i.FrameDecoder(
        a, max_message_size=b, max_frame_size=c, assemble=d, text=e, extensions=f),
     ("server", 1 << 20, None, True, "str", ())),
    ("FrameDecoder.feed", lambda i, *a: _decoder(i).feed(*a), (b"\x81\x85abcd" + b"hello",)),
    ("FrameEncoder", lambda i, a, b, c: i.FrameEncoder(a, max_frame_size=b, extensions=c),
     ("client", None, ())),
    ("FrameEncoder.text", lambda i, *a: _encoder(i).text(*a), ("hello",)),
    ("FrameEncoder.binary", lambda i, *a: _encoder(i).binary(*a), (b"hello",)),
    ("FrameEncoder.ping", lambda i, *a: _encoder(i).ping(*a), (b"hi",)),
    ("FrameEncoder.pong", lambda i, *a: _encoder(i).pong(*a), (b"hi",)),
    ("FrameEncoder.close", lambda i, *a: _encoder(i).close(*a), (1000, "bye")),
    ("FrameEncoder.encode", lambda i, *a: _encoder(i).encode(*a), (2, b"data", True, False)),
    ("FrameEncoder.encode_parts", lambda i, *a: i.FrameEncoder("server").encode_parts(*a),
     (2, b"data", True, False)),
    ("Frame", lambda i, *a: i.Frame(*a), (1, b"x", True, False)),
    ("Close", lambda i, *a: i.Close(*a), (1000, "bye", b"\x03\xe8bye")),
    ("FrameHeader", lambda i, *a: i.FrameHeader(*a), (True, 0, 1, True, KEY, 5, 6)),
]

CASES = [
    (name, slot, bad)
    for name, _, good in CALLABLES
    for slot in range(len(good))
    for bad in BAD
]


def comparable(value):
    """A value that compares equal across the implementations (events by content)."""
    if isinstance(value, list):
        return [comparable(x) for x in value]
    if isinstance(value, (bytes, str, bool, int, tuple, type(None))):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "opcode") and hasattr(value, "data"):
        data = value.data
        return (type(value).__name__, data if isinstance(data, (bytes, str)) else None)
    return type(value).__name__


def outcome(fn, impl, args):
    """What a call did: ("raised", exception class name) or ("returned", comparable value)."""
    try:
        result = fn(impl, *args)
    except Exception as exc:
        return ("raised", type(exc).__name__)
    return ("returned", comparable(result))


@pytest.fixture(scope="module")
def both():
    try:
        return _impl.load("c"), _impl.load("python")
    except ImportError:
        pytest.skip("parity needs the C extension")


@pytest.mark.parametrize("name,slot,bad", CASES)
def test_parity(both, name, slot, bad):
    fn, good = next((f, g) for n, f, g in CALLABLES if n == name)
    results = []
    for impl in both:
        args = list(good)
        # fresh mutable good arguments for each implementation
        args = [bytearray(a) if isinstance(a, bytearray) else a for a in args]
        args[slot] = BAD[bad]()
        results.append(outcome(fn, impl, args))
    assert results[0] == results[1], "%s slot %d with %s: C %s, Python %s" % (
        name, slot, bad, results[0], results[1])


@pytest.mark.parametrize("name", [n for n, _, _ in CALLABLES])
def test_good_arguments_work(impl, name):
    fn, good = next((f, g) for n, f, g in CALLABLES if n == name)
    args = [bytearray(a) if isinstance(a, bytearray) else a for a in good]
    assert outcome(fn, impl, args)[0] == "returned"


# -- the contract, pinned ---------------------------------------------------------------

NOT_BYTES = [None, 5, 1.5, "text", [1, 2], 1 << 70, -1]


@pytest.mark.parametrize("value", NOT_BYTES, ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        lambda i, v: i.apply_mask(v, KEY),
        lambda i, v: i.apply_mask_inplace(v, KEY),
        lambda i, v: i.apply_mask_into(v, b"x", KEY),
        lambda i, v: i.apply_mask_into(bytearray(4), v, KEY),
        lambda i, v: i.validate_utf8(v),
        lambda i, v: i.Utf8Validator().feed(v),
        lambda i, v: i.FrameDecoder().feed(v),
        lambda i, v: i.FrameEncoder().binary(v),
        lambda i, v: i.FrameEncoder().ping(v),
        lambda i, v: i.parse_header(v),
        lambda i, v: i.parse_close(v),
    ],
)
def test_bytes_like_is_the_buffer_protocol(impl, call, value):
    # Issue 13, finding 6: an int was a count of zero bytes, None an empty buffer.
    with pytest.raises(TypeError):
        call(impl, value)


@pytest.mark.parametrize("mask", [None, 5, "abcd", [1, 2, 3, 4], 1.5])
def test_mask_type(impl, mask):
    with pytest.raises(TypeError, match="mask"):
        impl.apply_mask(b"data", mask)
    if mask is not None:  # (None: unmasked)
        with pytest.raises(TypeError, match="mask"):
            impl.encode_header(1, 4, mask=mask)


@pytest.mark.parametrize("mask", [b"", b"abc", b"abcde", bytearray(5)])
def test_mask_size(impl, mask):
    with pytest.raises(ValueError, match="4 bytes"):
        impl.apply_mask(b"data", mask)


def test_mask_views(impl):
    data = bytes(range(40))
    expected = impl.apply_mask(data, KEY)
    # a strided view and a view of another format count by their bytes
    assert impl.apply_mask(memoryview(bytes(range(80)))[::2], KEY) == impl.apply_mask(
        bytes(range(0, 80, 2)), KEY
    )
    assert impl.apply_mask(memoryview(array.array("B", data)).cast("B"), KEY) == expected
    assert impl.apply_mask(memoryview(array.array("i", [1, 2])), KEY) == impl.apply_mask(
        array.array("i", [1, 2]).tobytes(), KEY
    )
    assert impl.apply_mask(data, memoryview(b"xx" + KEY)[2:]) == expected


@pytest.mark.parametrize("offset", [1.5, math.nan, "1", None])
def test_offset_type(impl, offset):
    with pytest.raises(TypeError):
        impl.apply_mask(b"data", KEY, offset)
    with pytest.raises(TypeError):
        impl.parse_header(b"\x81\x00", offset)


def test_offset_range(impl):
    with pytest.raises(OverflowError):
        impl.apply_mask(b"data", KEY, 1 << 70)
    with pytest.raises(ValueError):
        impl.parse_header(b"\x81\x00", 3)
    with pytest.raises(ValueError):
        impl.parse_header(b"\x81\x00", -1)


def test_writable_needed(impl):
    for buf in (b"immutable", memoryview(b"immutable")):
        with pytest.raises(TypeError, match="writable"):
            impl.apply_mask_inplace(buf, KEY)
        with pytest.raises(TypeError, match="writable"):
            impl.apply_mask_into(buf, b"x", KEY)
    with pytest.raises(TypeError, match="contiguous"):
        impl.apply_mask_inplace(memoryview(bytearray(8))[::2], KEY)
    # a 2-D or non-byte-format writable buffer is masked by its bytes
    buf = array.array("i", [1, 2])
    impl.apply_mask_inplace(buf, KEY)
    assert buf.tobytes() == impl.apply_mask(array.array("i", [1, 2]).tobytes(), KEY)


@pytest.mark.parametrize("shift", [-5, -1, 1, 3, 5])
def test_apply_mask_into_overlap_is_memmove(impl, shift):
    # Overlapping source and destination: as if the source were copied first.
    data = bytes(range(64))
    buf = bytearray(data + bytes(16))
    view = memoryview(buf)
    if shift > 0:
        dst, src = view[shift:], view[: len(data)]
    else:
        dst, src = view, view[-shift : len(data)]
    expected = impl.apply_mask(bytes(src), KEY, 1)
    impl.apply_mask_into(dst, src, KEY, 1)
    assert bytes(dst[: len(expected)]) == expected
    # the very same buffer: in place
    same = bytearray(data)
    impl.apply_mask_into(same, same, KEY)
    assert bytes(same) == impl.apply_mask(data, KEY)


LIMIT_TYPE = [True, False, 1.5, 1024.0, math.nan, math.inf, "1024", [1]]
LIMIT_VALUE = [0, -1, -(1 << 70), 1 << 64, 1 << 70]


@pytest.mark.parametrize("value", LIMIT_TYPE, ids=repr)
@pytest.mark.parametrize("name", ["max_message_size", "max_frame_size"])
def test_limit_types(impl, name, value):
    # Issue 13, finding 5: NaN disabled every limit; floats were truncated in C.
    with pytest.raises(TypeError, match=name):
        impl.FrameDecoder("server", **{name: value})
    if name == "max_frame_size":
        with pytest.raises(TypeError, match=name):
            impl.FrameEncoder("server", max_frame_size=value)


@pytest.mark.parametrize("value", LIMIT_VALUE, ids=repr)
@pytest.mark.parametrize("name", ["max_message_size", "max_frame_size"])
def test_limit_range(impl, name, value):
    with pytest.raises(ValueError, match=name):
        impl.FrameDecoder("server", **{name: value})
    if name == "max_frame_size":
        with pytest.raises(ValueError, match=name):
            impl.FrameEncoder("server", max_frame_size=value)


def test_limit_accepted(impl):
    assert impl.FrameDecoder("server", max_message_size=(1 << 64) - 1).max_message_size == (
        1 << 64
    ) - 1
    assert impl.FrameDecoder("server", max_frame_size=None).max_frame_size == 1 << 20
    assert impl.FrameEncoder("server", max_frame_size=(1 << 63) - 1).max_frame_size == (1 << 63) - 1


def test_nan_limit_reproducer(impl):
    # The frame that buffered 64 MiB past a NaN limit now never gets a decoder.
    with pytest.raises(TypeError):
        impl.FrameDecoder("server", max_message_size=float("nan"))


def test_header_fields(impl):
    with pytest.raises(TypeError):
        impl.encode_header(2, 70000.5)
    with pytest.raises(TypeError):
        impl.encode_header("2", 5)
    with pytest.raises(ValueError):
        impl.encode_header(2, -1)
    with pytest.raises(OverflowError):
        impl.encode_header(2, 1 << 70)
    with pytest.raises(ValueError):
        impl.encode_header(16, 5)


# -- wrong usage gets advice (issue 15) -------------------------------------------------


def test_feed_str_says_encode(impl):
    with pytest.raises(TypeError, match=r"feed\(\) takes bytes-like data, not str: encode it first"):
        impl.FrameDecoder("server").feed("hello")


def test_text_bytes_says_binary(impl):
    with pytest.raises(TypeError, match=r"text\(\) takes str, not bytes: use binary\(\)"):
        impl.FrameEncoder("server").text(b"x")


def test_close_reason_bytes(impl):
    with pytest.raises(TypeError, match="reason must be str, not bytes: decode it first"):
        impl.FrameEncoder("server").close(1000, b"r")


@pytest.mark.parametrize("code", ["1000", 1000.0, True, b"\x03\xe8"])
def test_close_code_type(impl, code):
    with pytest.raises(TypeError, match="close code must be an int such as 1000"):
        impl.FrameEncoder("server").close(code)
    with pytest.raises(TypeError):
        impl.build_close(code)


def test_close_code_range(impl):
    for code in (-1, 1 << 70, 70000, 999, 1005):
        with pytest.raises(ValueError):
            impl.build_close(code)


def test_extension_names_are_not_extensions(impl):
    for cls in (impl.FrameDecoder, impl.FrameEncoder):
        with pytest.raises(TypeError, match="wsframe.deflate"):
            cls("server", extensions=["permessage-deflate"])
        with pytest.raises(TypeError, match="extensions"):
            cls("server", extensions="permessage-deflate")
        with pytest.raises(TypeError, match="extensions"):
            cls("server", extensions=None)


def test_feed_after_error_is_a_replay(impl):
    decoder = impl.FrameDecoder("server")
    with pytest.raises(Exception) as first:
        decoder.feed(b"\x83\x80abcd")  # reserved opcode
    assert first.value.code == 1002 and "replay" not in str(first.value)
    with pytest.raises(type(first.value)) as again:
        decoder.feed(b"\x81\x80abcd")
    assert again.value.code == first.value.code
    assert again.value.reason == first.value.reason
    assert "replay of the earlier error" in str(again.value)
    assert again.value.events == []


def test_feed_slice_is_gone(impl):
    # Issue 13, crash 1: feed_slice(b"abc", -(1 << 30), 3) read outside the object.
    assert not hasattr(impl.Utf8Validator(), "feed_slice")


def test_path_names(impl):
    with pytest.raises(TypeError):
        impl.set_path(5)
    with pytest.raises(TypeError):
        impl.set_path("mask", 5)
    with pytest.raises(TypeError):
        impl.available_paths(None)
    with pytest.raises(ValueError):
        impl.available_paths("nope")
