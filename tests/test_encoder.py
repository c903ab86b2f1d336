"""FrameEncoder and the header/close helpers, checked against hand-built wire bytes."""

import array
import tracemalloc

import pytest

from wire import close_payload, frame, mask_bytes

from wsframe import Opcode, ProtocolError


def unmask_frame(data):
    """(header-without-key, payload) of one masked frame."""
    n = data[1] & 0x7F
    size = 2 + {126: 2, 127: 8}.get(n, 0)
    key = data[size : size + 4]
    return data[:size], mask_bytes(data[size + 4 :], key), key


def test_server_frames_are_unmasked_and_exact(impl):
    enc = impl.FrameEncoder("server")
    assert enc.text("hé") == frame(1, "hé", key=None)
    assert enc.binary(b"\x00" * 126) == frame(2, b"\x00" * 126, key=None)
    assert enc.binary(bytearray(70000)) == frame(2, bytes(70000), key=None)
    assert enc.ping(b"p") == frame(9, b"p", key=None)
    assert enc.pong() == frame(10, b"", key=None)
    assert enc.close() == frame(8, b"", key=None)
    assert enc.close(1001, "bye") == frame(8, close_payload(1001, "bye"), key=None)
    assert enc.encode(Opcode.TEXT, "a", fin=False) == frame(1, "a", fin=False, key=None)
    assert enc.encode(0, b"b") == frame(0, b"b", key=None)


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536])
def test_client_frames_are_masked_with_fresh_keys(impl, size):
    enc = impl.FrameEncoder("client")
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    keys = set()
    for _ in range(20):
        data = enc.binary(payload)
        head, body, key = unmask_frame(data)
        assert head == frame(2, payload, key=None)[: len(head)][:1] + bytes(
            [head[1] | 0x80]
        ) + head[2:]
        assert head[1] & 0x80
        assert body == payload
        keys.add(key)
    assert len(keys) > 15  # 20 random 32-bit keys: a repeat is vanishingly rare


def test_round_trip_both_roles(impl):
    for role, peer_role in (("client", "server"), ("server", "client")):
        enc = impl.FrameEncoder(role)
        dec = impl.FrameDecoder(peer_role, max_message_size=1 << 22)
        data = (
            enc.text("x" * 70000)
            + enc.binary(b"\xff" * 3)
            + enc.ping(b"hi")
            + enc.encode(1, "frag", fin=False)
            + enc.pong(b"")
            + enc.encode(0, "ment")
            + enc.close(1000, "")
        )
        events = dec.feed(data)
        assert [(e.opcode, e.data) for e in events] == [
            (Opcode.TEXT, "x" * 70000),
            (Opcode.BINARY, b"\xff" * 3),
            (Opcode.PING, b"hi"),
            (Opcode.PONG, b""),
            (Opcode.TEXT, "fragment"),
            (Opcode.CLOSE, b"\x03\xe8"),
        ]


def test_max_frame_size_fragments_messages(impl):
    enc = impl.FrameEncoder("server", max_frame_size=4)
    data = enc.text("abcdefghij")
    assert data == (
        frame(1, "abcd", fin=False, key=None)
        + frame(0, "efgh", fin=False, key=None)
        + frame(0, "ij", key=None)
    )
    assert impl.FrameDecoder("client").feed(data)[0].data == "abcdefghij"


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.ping(b"x" * 126),
        lambda e: e.close(1005),
        lambda e: e.close(999),
        lambda e: e.close(None, "reason without code"),
        lambda e: e.close(1000, "é" * 62),
        lambda e: e.encode(3, b""),
        lambda e: e.encode(9, b"", fin=False),
        lambda e: e.encode(1, b"", rsv1=True),  # no compression extension
        lambda e: e.text("\udc80"),  # lone surrogate: not encodable
    ],
)
def test_encoder_refuses_what_may_not_be_sent(impl, call):
    with pytest.raises(ValueError):
        call(impl.FrameEncoder("server"))


def test_encoder_bad_options(impl):
    with pytest.raises(ValueError):
        impl.FrameEncoder("peer")
    with pytest.raises(ValueError):
        impl.FrameEncoder("client", max_frame_size=0)


def test_close_helpers(impl):
    assert impl.build_close() == b""
    assert impl.build_close(1000, "ok") == b"\x03\xe8ok"
    assert impl.parse_close(b"") == (None, "")
    assert impl.parse_close(b"\x03\xe8ok") == (1000, "ok")
    with pytest.raises(ProtocolError) as info:
        impl.parse_close(b"\x03")
    assert info.value.code == 1002
    with pytest.raises(ProtocolError) as info:
        impl.parse_close(b"\x03\xe8\xff")
    assert info.value.code == 1007


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, (1 << 63) - 1])
@pytest.mark.parametrize("mask", [None, b"\x01\x02\x03\x04"])
def test_header_round_trip(impl, length, mask):
    head = impl.encode_header(Opcode.BINARY, length, fin=False, rsv=4, mask=mask)
    assert impl.parse_header(head[:-1]) is None
    parsed = impl.parse_header(b"xx" + head, 2)
    assert (parsed.fin, parsed.rsv, parsed.opcode, parsed.masked, parsed.key) == (
        False,
        4,
        2,
        mask is not None,
        mask,
    )
    assert (parsed.length, parsed.size) == (length, len(head))


class _Op(int):
    """An int subclass whose overrides must not be called (operator.index ignores them)."""

    def __index__(self):  # pragma: no cover - must not be called
        raise AssertionError("__index__ called")

    def __or__(self, other):  # pragma: no cover
        raise AssertionError("__or__ called")

    __ror__ = __or__


@pytest.mark.parametrize("opcode", [2, Opcode.BINARY, _Op(2)], ids=["int", "IntEnum", "subclass"])
@pytest.mark.parametrize("length", [0, 5, 125, 126, 65535, 65536, (1 << 63) - 1])
@pytest.mark.parametrize("mask", [None, b"\x01\x02\x03\x04", bytearray(b"\x01\x02\x03\x04")])
@pytest.mark.parametrize("fin,rsv", [(True, 0), (False, 4), (1, 7)])
def test_encode_header_fast_and_general_paths_agree(impl, opcode, length, mask, fin, rsv):
    """The inline path (plain ints, a bytes key) and the general one (int subclasses,
    another buffer as key) build the same header as the wire format says."""
    head = impl.encode_header(opcode, length, fin=fin, rsv=rsv, mask=mask)
    # (wire.frame of an empty payload declaring ``length``: the header and the key)
    key = bytes(mask) if mask is not None else None
    assert head == frame(2, b"", fin=bool(fin), rsv=rsv, key=key, length=length)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "array", "strided"])
@pytest.mark.parametrize("offset", [0, 1, 7])
def test_parse_header_any_buffer(impl, kind, offset):
    head = impl.encode_header(Opcode.TEXT, 70000, mask=b"\x0a\x0b\x0c\x0d")
    raw = b"z" * offset + head + b"payload"
    if kind == "strided":  # every other byte of a buffer twice as long: not contiguous
        doubled = bytearray(2 * len(raw))
        doubled[::2] = raw
        buf = memoryview(doubled)[::2]
    else:
        buf = {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview,
               "array": lambda b: array.array("B", b)}[kind](raw)
    parsed = impl.parse_header(buf, offset)
    assert parsed == impl.parse_header(raw, offset)
    assert (parsed.length, parsed.size, parsed.key) == (70000, len(head), b"\x0a\x0b\x0c\x0d")
    assert impl.parse_header(buf, offset + len(head) + 6) is None  # one byte left
    with pytest.raises(ValueError, match="outside a buffer of %d bytes" % len(raw)):
        impl.parse_header(buf, len(raw) + 1)
    with pytest.raises(ValueError):
        impl.parse_header(buf, -1)


def test_parse_header_copies_only_the_header(impl):
    # A bytearray walked frame by frame: each call must not copy the whole buffer.
    big = bytearray(impl.encode_header(Opcode.BINARY, 5)) + bytes(5) + bytearray(8 << 20)
    tracemalloc.start()
    try:
        for _ in range(3):
            assert impl.parse_header(big, 0).length == 5
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_parse_header_length_rules(impl):
    with pytest.raises(ProtocolError) as info:
        impl.parse_header(b"\x82\x7e\x00\x05")
    assert info.value.code == 1002
    with pytest.raises(ProtocolError):
        impl.parse_header(b"\x82\x7f\x80" + bytes(7))
    with pytest.raises(ValueError):
        impl.encode_header(1, -1)


def test_encode_parts_does_not_copy_a_server_payload(impl):
    enc = impl.FrameEncoder("server")
    payload = bytearray(b"x" * 70000)
    parts = enc.encode_parts(2, payload)
    assert parts[1] is payload
    assert b"".join(parts) == enc.encode(2, bytes(payload))
    view = memoryview(b"abc")
    assert b"".join(enc.encode_parts(1, view, fin=False)) == frame(1, "abc", fin=False, key=None)
    assert b"".join(enc.encode_parts(0, "é")) == frame(0, "é", key=None)
    with pytest.raises(ValueError):
        enc.encode_parts(3, b"")


def test_encode_parts_masked_is_one_buffer(impl):
    enc = impl.FrameEncoder("client")
    parts = enc.encode_parts(9, b"ping")
    assert len(parts) == 1
    head, body, _ = unmask_frame(parts[0])
    assert body == b"ping" and head[0] == 0x89


class _Str(str):
    pass


@pytest.mark.parametrize(
    "text",
    ["", "hello", "a" * 70000, "é", "ascii then é" * 5000, "😀" * 3, _Str("sub class")],
    ids=["empty", "ascii", "ascii-70000", "latin1", "mixed-60000", "astral", "str-subclass"],
)
@pytest.mark.parametrize("role", ["server", "client"])
def test_text_frames_from_any_str(impl, role, text):
    # text() encodes an ASCII str straight from its characters: same bytes as the UTF-8 path
    data = impl.FrameEncoder(role).text(text)
    decoder = impl.FrameDecoder("client" if role == "server" else "server")
    (event,) = decoder.feed(data)
    assert event.data == str(text)
    if role == "server":
        assert data == impl.FrameEncoder("server").encode(1, str(text).encode())


def test_text_lone_surrogate(impl):
    for role in ("server", "client"):
        with pytest.raises(UnicodeEncodeError):
            impl.FrameEncoder(role).text("a\udcff")
