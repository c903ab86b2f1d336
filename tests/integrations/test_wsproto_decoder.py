"""wsproto's frame decoder, message decoder and frame serialiser, with and without install().

Differential: every scenario runs on wsproto alone, then with ``install(force=True)``, and
everything observable is compared: the events (type, fields, and the type of their data),
the connection state, each ``ParseFailed`` message and close code, the frames and the
decoder's state after each ``process_buffer()`` call, and every byte sent (with
``os.urandom`` replaced by a fixed sequence of keys, so client frames can be compared).
"""

import os
import struct
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wire import split

from .conftest import require

KEY = b"\x37\xfa\x21\x3d"
_FIXTURE = [HealthCheck.function_scoped_fixture]


@pytest.fixture
def both():
    """``both(fn)`` -> (fn() on wsproto alone, fn() with install(force=True))."""
    integ = require("wsproto")
    was = integ.installed

    def run(fn):
        integ.uninstall()
        without = fn()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert integ.install(force=True)
        try:
            with_ = fn()
        finally:
            integ.uninstall()
        return without, with_

    yield run
    if was:  # pragma: no cover - the suite never leaves it installed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            integ.install(force=True)
    else:
        integ.uninstall()


def test_install_replaces_the_decoder_and_serialiser():
    integ = require("wsproto")
    from wsproto import frame_protocol as fp

    originals = (
        fp.FrameDecoder.process_buffer,
        fp.MessageDecoder.process_frame,
        fp.FrameProtocol._serialize_frame,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = integ.install(force=True)
    try:
        assert "wsproto.frame_protocol.FrameDecoder.process_buffer" in names
        assert "wsproto.frame_protocol.MessageDecoder.process_frame" in names
        assert "wsproto.frame_protocol.FrameProtocol._serialize_frame" in names
        assert fp.FrameDecoder.process_buffer is not originals[0]
    finally:
        integ.uninstall()
    assert (
        fp.FrameDecoder.process_buffer,
        fp.MessageDecoder.process_frame,
        fp.FrameProtocol._serialize_frame,
    ) == originals


# ------------------------------------------------------------------------------ wire
def frame(
    opcode,
    payload=b"",
    fin=True,
    rsv=0,
    mask=KEY,
    length_form=None,
    length=None,
):
    """A frame, possibly broken: ``length_form`` 2/8 forces a 16/64-bit length field."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask is not None else 0
    form = length_form
    if form is None:
        form = 0 if n < 126 else (2 if n < 65536 else 8)
    if form == 0:
        head += bytes([mbit | n])
    elif form == 2:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + body


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def _event(e):
    fields = {k: v for k, v in vars(e).items()}
    return (
        type(e).__name__,
        {k: (type(v).__name__, repr(v)) for k, v in sorted(fields.items())},
    )


def run_connection(client, chunks, extensions=None):
    """Feed ``chunks`` to a wsproto Connection; everything it shows, after each chunk."""
    from wsproto.connection import Connection, ConnectionType

    conn = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER, extensions)
    out = []
    for chunk in chunks:
        try:
            conn.receive_data(chunk)
        except Exception as exc:
            out.append(("receive_data raised", type(exc).__name__, str(exc)))
            continue
        out.append([_event(e) for e in conn.events()])
        out.append(repr(conn.state))
    return out


def _decoder_state(d):
    return (
        repr(d.header),
        repr(d.effective_opcode),
        type(d.masker).__name__,
        d.payload_required,
        d.payload_consumed,
        bytes(d.buffer.buffer),
        d.buffer.bytes_used,
    )


def run_frame_decoder(client, chunks, calls_per_chunk=3):
    """Drive wsproto's FrameDecoder directly, also after it failed."""
    from wsproto.frame_protocol import FrameDecoder, ParseFailed

    d = FrameDecoder(client=client)
    out = []
    for chunk in chunks:
        d.receive_bytes(chunk)
        for _ in range(calls_per_chunk):
            try:
                f = d.process_buffer()
            except ParseFailed as exc:
                out.append(("ParseFailed", str(exc), repr(exc.code)))
            else:
                out.append(
                    None
                    if f is None
                    else (repr(f.opcode), type(f.payload).__name__, f.payload, f.frame_finished,
                          f.message_finished)
                )
            out.append(_decoder_state(d))
    return out


def run_frame_protocol(client, chunks):
    from wsproto.frame_protocol import FrameProtocol, ParseFailed

    p = FrameProtocol(client=client, extensions=[])
    out = []
    for chunk in chunks:
        p.receive_bytes(chunk)
        try:
            for f in p.received_frames():
                out.append((repr(f.opcode), type(f.payload).__name__, repr(f.payload),
                            f.frame_finished, f.message_finished))
        except ParseFailed as exc:
            out.append(("ParseFailed", str(exc), repr(exc.code)))
    return out


def every_split(data):
    """[data], every two-piece split, and byte by byte."""
    yield [data]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]
    yield [data[i : i + 1] for i in range(len(data))]


def check_all(both, client, wire):
    for chunks in every_split(wire):
        a, b = both(lambda: run_connection(client, chunks))
        assert a == b, chunks
        a, b = both(lambda: run_frame_decoder(client, chunks))
        assert a == b, chunks
        a, b = both(lambda: run_frame_protocol(client, chunks))
        assert a == b, chunks


# ------------------------------------------------------------------------------ receive
TEXT = "wsframe é € 😀 ".encode()


def _m(client):
    """The mask a frame *to* this side carries: a server gets masked frames."""
    return None if client else KEY


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_ordinary_messages_split_at_every_byte(both, client):
    m = _m(client)
    wire = (
        frame(0x1, TEXT, mask=m)
        + frame(0x2, b"\x00\xff" * 3, mask=m)
        + frame(0x1, b"", mask=m)
        + frame(0x2, b"", mask=m)
        + frame(0x9, b"ping", mask=m)
        + frame(0xA, b"", mask=m)
        + frame(0x1, b"x" * 126, mask=m)
        + frame(0x8, close_payload(1000, b"bye"), mask=m)
        + frame(0x1, b"after close", mask=m)
    )
    check_all(both, client, wire)


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_fragmented_with_control_frames_interleaved(both, client):
    m = _m(client)
    euro = "€".encode()
    wire = (
        frame(0x1, b"he" + euro[:1], fin=False, mask=m)
        + frame(0x9, b"p1", mask=m)
        + frame(0x0, euro[1:] + b"llo", fin=False, mask=m)
        + frame(0xA, b"p2", mask=m)
        + frame(0x0, b"!", mask=m)
        + frame(0x2, b"ab", fin=False, mask=m)
        + frame(0x0, b"", fin=False, mask=m)
        + frame(0x0, b"cd", mask=m)
        + frame(0x8, b"", mask=m)
    )
    check_all(both, client, wire)


def test_large_frames(both):
    big = os.urandom(70000)
    wire = frame(0x2, big) + frame(0x1, b"a" * 65535) + frame(0x1, b"b" * 65536)
    pieces = [wire[i : i + 7000] for i in range(0, len(wire), 7000)]
    for chunks in ([wire], [wire[:1000], wire[1000:]], pieces):
        a, b = both(lambda: run_connection(False, chunks))
        assert a == b
        a, b = both(lambda: run_frame_decoder(False, chunks))
        assert a == b


BAD_HEADERS = [
    # reserved opcodes
    *[frame(op, b"x") for op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)],
    # RSV bits with no extension
    *[frame(0x1, b"x", rsv=r) for r in range(1, 8)],
    frame(0x9, b"x", rsv=4),
    # unmasked frame to a server
    frame(0x1, b"x", mask=None),
    frame(0x8, close_payload(1000), mask=None),
    # lengths not in their shortest form, 64-bit length with its MSB set
    frame(0x1, b"", length_form=2),
    frame(0x1, b"x" * 125, length_form=2),
    frame(0x1, b"x" * 126, length_form=8),
    frame(0x1, b"x" * 65535, length_form=8),
    frame(0x1, b"", length_form=8, length=1 << 63),
    frame(0x1, b"", length_form=8, length=(1 << 64) - 1),
    # control frames: fragmented, too long
    frame(0x9, b"x", fin=False),
    frame(0x8, b"", fin=False),
    frame(0xA, b"x" * 126),
    frame(0x9, b"x" * 125, length_form=2),
    # message rules
    frame(0x0, b"x"),
    frame(0x0, b"", fin=False),
    frame(0x1, b"a", fin=False) + frame(0x1, b"b"),
    frame(0x1, b"a", fin=False) + frame(0x2, b"b"),
    frame(0x2, b"a", fin=False) + frame(0x9, b"p") + frame(0x1, b"b"),
    # invalid UTF-8: in one frame, at the end, split across fragments
    frame(0x1, b"abc\xff"),
    frame(0x1, b"\xed\xa0\x80"),
    frame(0x1, b"ok\xe2\x82"),
    frame(0x1, b"a\xe2", fin=False) + frame(0x0, b"\x82"),
    frame(0x1, b"a\xe2", fin=False) + frame(0x0, b"\x28\xac"),
    frame(0x1, "é".encode()[:1], fin=False) + frame(0x0, "é".encode()[1:]),
    # close payloads
    frame(0x8, b"\x03"),
    *[
        frame(0x8, close_payload(c))
        for c in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 3000, 4999, 5000, 65535)
    ],
    frame(0x8, close_payload(1000, b"\xff")),
    frame(0x8, close_payload(1001, "é".encode()[:1])),
    frame(0x8, close_payload(4000, "fine €".encode())),
    frame(0x8, close_payload(1000) + b"x" * 123),
]


@pytest.mark.parametrize("wire", BAD_HEADERS, ids=range(len(BAD_HEADERS)))
def test_unusual_and_bad_frames_server(both, wire):
    wire = frame(0x1, b"first") + wire + frame(0x1, b"next")
    for chunks in ([wire], [wire[i : i + 1] for i in range(min(len(wire), 400))] + [wire[400:]]):
        a, b = both(lambda: run_connection(False, chunks))
        assert a == b
        a, b = both(lambda: run_frame_decoder(False, chunks))
        assert a == b
        a, b = both(lambda: run_frame_protocol(False, chunks))
        assert a == b


def test_masked_frame_to_a_client(both):
    wires = (frame(0x1, b"x"), frame(0x9, b""), frame(0x1, b"ok", mask=None) + frame(0x2, b"x"))
    for wire in wires:
        a, b = both(lambda: run_connection(True, [wire]))
        assert a == b
        a, b = both(lambda: run_frame_decoder(True, [wire]))
        assert a == b


def test_close_codes_reach_the_application(both):
    from wsproto.connection import Connection, ConnectionType

    def run():
        out = []
        for payload in (
            b"",
            close_payload(1000),
            close_payload(1003, b"why"),
            close_payload(4321, b"x"),
            b"\x03",
            close_payload(1005),
            close_payload(1000, b"\xc3"),
        ):
            conn = Connection(ConnectionType.SERVER)
            conn.receive_data(frame(0x8, payload))
            out.append([_event(e) for e in conn.events()] + [repr(conn.state)])
        return out

    a, b = both(run)
    assert a == b
    # The codes as wsproto gives them, for the record.
    assert "1005" in repr(a[0]) and "1002" in repr(a[4]) and "1007" in repr(a[6])


def test_local_closing_then_remote_close(both):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import CloseConnection

    def run():
        conn = Connection(ConnectionType.SERVER)
        sent = conn.send(CloseConnection(code=1000))
        conn.receive_data(frame(0x1, b"late") + frame(0x8, close_payload(1000)))
        events = [_event(e) for e in conn.events()]
        return sent, events, repr(conn.state)

    a, b = both(run)
    assert a == b


def test_with_permessage_deflate_goes_to_wsproto(both):
    require("wsproto")
    from wsproto.extensions import PerMessageDeflate

    def run():
        # A server that negotiated permessage-deflate: frames with RSV1 are compressed.
        import zlib

        ext = PerMessageDeflate()
        ext.accept(ext.offer())
        co = zlib.compressobj(wbits=-15)
        body = co.compress(b"hello hello hello") + co.flush(zlib.Z_SYNC_FLUSH)
        wire = frame(0x1, body[:-4], rsv=4) + frame(0x1, b"plain") + frame(0x2, b"\x00", rsv=2)
        return run_connection(False, [wire], extensions=[ext])

    a, b = both(run)
    assert a == b


# Hypothesis: random sequences of (mostly ordinary) frames, random splits.
OPCODES = st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x1, 0x2, 0x1, 0x3, 0xB])
PAYLOADS = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [TEXT, b"\xff", b"\xe2\x82", b"\x82\xac", close_payload(1000, b"ok"), b"x" * 130]
    ),
)


@st.composite
def frames(draw, client):
    out = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(OPCODES)
        payload = draw(PAYLOADS)
        fin = draw(st.sampled_from([True, True, True, False]))
        rsv = draw(st.sampled_from([0, 0, 0, 0, 0, 1, 4]))
        wrong_mask = draw(st.sampled_from([False] * 9 + [True]))
        m = _m(client)
        if wrong_mask:
            m = KEY if m is None else None
        out.append(frame(op, payload, fin=fin, rsv=rsv, mask=m))
    return b"".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=_FIXTURE)
@given(data=st.data(), client=st.booleans(), cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_random_frames_random_splits(both, data, client, cuts):
    wire = data.draw(frames(client))
    chunks = split(wire, cuts)
    a, b = both(lambda: run_connection(client, chunks))
    assert a == b
    a, b = both(lambda: run_frame_decoder(client, chunks))
    assert a == b


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE)
@given(head=st.binary(min_size=2, max_size=14), tail=st.binary(max_size=20), client=st.booleans())
def test_random_header_bytes(both, head, tail, client):
    wire = head + tail
    a, b = both(lambda: run_frame_decoder(client, [wire]))
    assert a == b
    a, b = both(lambda: run_connection(client, [wire]))
    assert a == b


# ------------------------------------------------------------------------------ send
class _Keys:
    """A fixed sequence of masking keys for ``os.urandom`` (both runs see the same)."""

    def __init__(self):
        self.calls = []

    def __call__(self, n):
        self.calls.append(n)
        return bytes((len(self.calls) * 37 + i * 11) & 0xFF for i in range(n))


def _send_outcomes(client, monkeypatch):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
    from wsproto.frame_protocol import FrameProtocol, Opcode

    keys = _Keys()
    monkeypatch.setattr(os, "urandom", keys)
    out = []

    def record(fn, *args):
        try:
            r = fn(*args)
        except Exception as exc:
            out.append(("error", type(exc).__name__, str(exc)))
        else:
            out.append(("ok", type(r).__name__, bytes(r)))

    p = FrameProtocol(client=client, extensions=[])
    for n in (0, 1, 3, 4, 5, 125, 126, 127, 65535, 65536, 70001):
        record(p.send_data, b"b" * n)
        record(p.send_data, bytearray(b"c" * n))
        record(p.send_data, "t" * n)
    record(p.send_data, memoryview(b"view"))
    record(p.send_data, "é€😀")
    record(p.send_data, "frag", False)
    record(p.send_data, b"mismatch")
    record(p.send_data, "more", False)
    record(p.send_data, "", True)
    record(p.send_data, b"bin", 0)
    record(p.send_data, b"bin2", 1)
    record(p.send_data, 12)
    for payload in (b"", b"p", b"x" * 125, b"x" * 126, bytearray(b"ba"), memoryview(b"mv"), "str"):
        record(p.ping, payload)
        record(p.pong, payload)
    record(p.close)
    record(p.close, 1000)
    record(p.close, 1001, "going")
    record(p.close, 1000, "é" * 80)
    record(p.close, None, "reason")
    record(p._serialize_frame, Opcode.TEXT, b"raw", True)
    record(p._serialize_frame, Opcode.CLOSE, b"x" * 200)

    conn = Connection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
    for ev in (TextMessage("hi"), BytesMessage(b"\x00" * 300), Ping(b"1"), Pong(b""),
               TextMessage("a", message_finished=False), TextMessage("b"),
               CloseConnection(1000, "bye"), TextMessage("late")):
        record(conn.send, ev)
    out.append(("urandom calls", keys.calls))
    return out


@pytest.mark.parametrize("client", [True, False], ids=["client", "server"])
def test_send_same_bytes_same_errors(client, monkeypatch):
    integ = require("wsproto")
    integ.uninstall()
    without = _send_outcomes(client, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        integ.install(force=True)
    try:
        with_ = _send_outcomes(client, monkeypatch)
    finally:
        integ.uninstall()
    assert len(without) == len(with_)
    for a, b in zip(without, with_):
        assert a == b


def test_client_frames_round_trip_to_a_server(both):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import BytesMessage, Ping, TextMessage

    def run():
        c, s = Connection(ConnectionType.CLIENT), Connection(ConnectionType.SERVER)
        got = []
        for ev in (TextMessage("x" * 1000), BytesMessage(bytes(range(256)) * 258), Ping(b"p"),
                   TextMessage("€" * 50)):
            s.receive_data(c.send(ev))
            got.extend(_event(e) for e in s.events())
        return got

    a, b = both(run)
    assert a == b


def test_masking_key_comes_from_wsproto_os(both, monkeypatch):
    """The key is looked up as wsproto does (``frame_protocol.os.urandom``)."""
    import types

    from wsproto import frame_protocol as fp

    def run():
        keys = _Keys()
        monkeypatch.setattr(fp, "os", types.SimpleNamespace(urandom=keys))
        p = fp.FrameProtocol(client=True, extensions=[])
        out = [bytes(p.send_data(b"abc")), bytes(p.ping(b"")), bytes(p.send_data("x" * 300))]
        monkeypatch.undo()
        return out, keys.calls

    a, b = both(run)
    assert a == b
