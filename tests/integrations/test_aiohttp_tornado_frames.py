"""The frame writers of aiohttp and tornado: the same bytes, calls and errors with install().

Each scenario runs twice, first with the library's own code, then with
``install(force=True)``; what is recorded (every ``write`` call with the type and bytes
written, the library's byte counters, the exception raised, the state of the randomness
source afterwards) must be equal. The masking key comes from the library's own source in
both runs (aiohttp: the writer's ``random.Random``; tornado: ``os.urandom``), seeded or
patched here, so masked frames are compared byte for byte.
"""

import asyncio
import os
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsframe.integrations as wi

from .conftest import require

SIZES = (0, 1, 2, 3, 4, 5, 31, 125, 126, 127, 1000, 16384, 16385, 65535, 65536, 65537, 200000)


def _both(library, scenario):
    """``scenario()`` without, then with install(force=True); both outcomes."""
    integ = require(library)
    integ.uninstall()
    without = _outcome(scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert integ.install(force=True)
    try:
        with_ = _outcome(scenario)
    finally:
        integ.uninstall()
    return without, with_


def _outcome(scenario):
    record = []
    try:
        scenario(record)
    except Exception as exc:
        record.append(("raised", type(exc), str(exc)))
    return record


def _payload(size, seed=0):
    return random.Random(seed * 7919 + size).randbytes(size)


# ------------------------------------------------------------------------------- aiohttp
class _AioTransport:
    def __init__(self, record, closing=False):
        self.record = record
        self.closing = closing

    def write(self, data):
        self.record.append(("write", type(data), bytes(data)))

    def is_closing(self):
        return self.closing


class _AioProtocol:
    _paused = False

    async def _drain_helper(self):  # pragma: no cover - never paused here
        pass


def _aio_writer(record, use_mask, seed=1, compress=0, closing=False, limit=2**16):
    from aiohttp._websocket.writer import WebSocketWriter

    return WebSocketWriter(
        _AioProtocol(),
        _AioTransport(record, closing),
        use_mask=use_mask,
        limit=limit,
        random=random.Random(seed),
        compress=compress,
    )


def _aio_send(record, writer, frames):
    loop = asyncio.new_event_loop()
    try:
        for frame in frames:
            loop.run_until_complete(writer.send_frame(*frame))
    finally:
        record.append(("output_size", writer._output_size))
        record.append(("random_after", writer.get_random_bits()))
        loop.close()


def _require_aio_writer():
    """aiohttp with ``WebSocketWriter._write_websocket_frame`` (3.13.2 on): the releases
    whose frame writer is replaced; 3.11.0-3.13.1 get only the masker."""
    integ = require("aiohttp")
    from wsframe.integrations.aiohttp import WRITER_FROM

    if integ.version_tuple() < WRITER_FROM:
        pytest.skip("aiohttp %s has no _write_websocket_frame" % integ.version())
    return integ


def _aio_installed_writer():
    from aiohttp._websocket.writer import WebSocketWriter

    return WebSocketWriter.__dict__["_write_websocket_frame"]


@pytest.mark.parametrize("use_mask", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_aiohttp_frames_every_length_form(use_mask, kind):
    def scenario(record):
        writer = _aio_writer(record, use_mask)
        frames = [(kind(_payload(n)), op) for n in SIZES for op in (1, 2, 0)]
        frames += [(kind(b"ping"), 9), (kind(b""), 10), (kind(b"\x03\xe8bye"), 8)]
        _aio_send(record, writer, frames)

    without, with_ = _both("aiohttp", scenario)
    assert without == with_
    writes = [r for r in without if r[0] == "write"]
    assert all(t is bytes for _, t, _ in writes if use_mask)


@pytest.mark.parametrize("use_mask", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("size", [10, 5000, 40000])  # 40000: compressed in the executor
def test_aiohttp_compressed_frames(use_mask, size):
    def scenario(record):
        writer = _aio_writer(record, use_mask, compress=15)
        text = (b"wsframe aiohttp " * (size // 16 + 1))[:size]
        frames = [(text, 1), (_payload(size), 2), (text, 1, 9), (b"p", 9)]
        _aio_send(record, writer, frames)

    without, with_ = _both("aiohttp", scenario)
    assert without == with_


def test_aiohttp_closing_transport_same_error_no_key_drawn():
    def scenario(record):
        writer = _aio_writer(record, True, closing=True)
        try:
            _aio_send(record, writer, [(b"hello", 1)])
        finally:
            record.append(("random_after_error", writer.get_random_bits()))

    without, with_ = _both("aiohttp", scenario)
    assert without == with_
    assert without[-1][0] == "raised" and "closing" in without[-1][2]


@pytest.mark.parametrize("opcode,rsv", [(0x100, 0), (-1, 0), (1, 0x80), (1, 0x40)])
def test_aiohttp_odd_first_bytes(opcode, rsv):
    _require_aio_writer()

    def scenario(record):
        writer = _aio_writer(record, True)
        writer._write_websocket_frame(b"abc", opcode, rsv)
        record.append(("output_size", writer._output_size))

    without, with_ = _both("aiohttp", scenario)
    assert without == with_


def test_aiohttp_seeded_random_gives_the_same_key_as_aiohttp():
    """The key is aiohttp's own: PACK_RANDBITS of the writer's random.Random."""
    def scenario(record):
        writer = _aio_writer(record, True, seed=123)
        _aio_send(record, writer, [(b"text", 1)])

    without, with_ = _both("aiohttp", scenario)
    assert without == with_
    # aiohttp's own test (test_send_text_masked) expects these bytes for seed 123.
    assert without[0] == ("write", bytes, b"\x81\x84\rg\xb3fy\x02\xcb\x12")


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=400),
    opcode=st.sampled_from([0, 1, 2, 8, 9, 10]),
    use_mask=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_aiohttp_frames_hypothesis(data, opcode, use_mask, seed):
    def scenario(record):
        writer = _aio_writer(record, use_mask, seed=seed)
        _aio_send(record, writer, [(data, opcode), (data + data, opcode)])

    without, with_ = _both("aiohttp", scenario)
    assert without == with_


# ------------------------------------------------------------------------------- tornado
class _TorStream:
    def __init__(self, record):
        self.record = record

    def write(self, data):
        self.record.append(("write", type(data), bytes(data)))
        return "future-%d" % len(self.record)

    def set_close_callback(self, cb):  # pragma: no cover
        pass


class _TorHandler:
    def on_ws_connection_close(self, *args):  # pragma: no cover
        pass


def _tor_protocol(record, mask_outgoing):
    from tornado.websocket import WebSocketProtocol13, _WebSocketParams

    proto = WebSocketProtocol13(
        _TorHandler(), mask_outgoing=mask_outgoing, params=_WebSocketParams()
    )
    proto.stream = _TorStream(record)
    return proto


@pytest.fixture
def fake_urandom(monkeypatch):
    """os.urandom from a seeded generator, recorded (tornado's key source, patched)."""
    state = {"rng": random.Random(5), "calls": 0}

    def urandom(n):
        state["calls"] += 1
        return state["rng"].randbytes(n)

    def reset():
        state["rng"] = random.Random(5)
        state["calls"] = 0

    monkeypatch.setattr(os, "urandom", urandom)
    state["reset"] = reset
    return state


def _tor_send(record, proto, frames, urandom_state):
    urandom_state["reset"]()
    try:
        for args in frames:
            record.append(("returned", proto._write_frame(*args)))
    finally:
        record.append(("wire_bytes_out", proto._wire_bytes_out))
        record.append(("urandom_calls", urandom_state["calls"]))


def _tor_installed_writer():
    from tornado.websocket import WebSocketProtocol13

    return WebSocketProtocol13.__dict__["_write_frame"]


@pytest.mark.parametrize(
    "lib, dotted",
    [
        ("aiohttp", "aiohttp._websocket.writer.WebSocketWriter._write_websocket_frame"),
        ("tornado", "tornado.websocket.WebSocketProtocol13._write_frame"),
    ],
)
def test_writer_is_replaced_by_default(lib, dotted):
    integ = _require_aio_writer() if lib == "aiohttp" else require(lib)
    import wsframe

    if wsframe.implementation != "c":
        pytest.skip("install() without force needs the C extension")
    installed = {"aiohttp": _aio_installed_writer, "tornado": _tor_installed_writer}[lib]
    integ.uninstall()
    original = installed()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replaced = integ.install()
    try:
        assert dotted in replaced
        assert installed().__wrapped__ is original
    finally:
        integ.uninstall()
    assert installed() is original


@pytest.mark.parametrize("mask", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_tornado_frames_every_length_form(mask, kind, fake_urandom):
    def scenario(record):
        proto = _tor_protocol(record, mask)
        frames = []
        for n in SIZES:
            data = kind(_payload(n))
            frames += [(True, 1, data), (False, 2, data), (True, 0, data, 0x40)]
        frames += [(True, 9, kind(b"ping")), (True, 10, kind(b"")), (True, 8, kind(b"\x03\xe8"))]
        _tor_send(record, proto, frames, fake_urandom)

    without, with_ = _both("tornado", scenario)
    assert without == with_
    if mask and kind is bytes:  # (tornado.speedups refuses a bytearray: both raise)
        assert without[-1] == ("urandom_calls", 3 * len(SIZES) + 3)


@pytest.mark.parametrize(
    "args",
    [
        (False, 9, b"x"),  # control frame not final: tornado's ValueError
        (True, 8, b"x" * 126),  # control frame too long: tornado's ValueError
        (True, 0x100, b"x"),  # first byte out of range: tornado's struct.error
        (True, 1, b"x", 0x100),
        (True, -2, b"x"),
        (True, "1", b"x"),  # TypeError from the same operator
        (True, 1, "text"),  # a str payload: whatever tornado does with it
        (0, 1, b"x", 0x70),
    ],
)
@pytest.mark.parametrize("mask", [True, False], ids=["masked", "unmasked"])
def test_tornado_odd_calls_same_outcome(args, mask, fake_urandom):
    def scenario(record):
        proto = _tor_protocol(record, mask)
        _tor_send(record, proto, [args], fake_urandom)

    without, with_ = _both("tornado", scenario)
    assert without == with_


def test_tornado_key_is_os_urandom(fake_urandom):
    def scenario(record):
        proto = _tor_protocol(record, True)
        _tor_send(record, proto, [(True, 1, b"hello")], fake_urandom)

    without, with_ = _both("tornado", scenario)
    assert without == with_
    key = random.Random(5).randbytes(4)
    frame = without[0][2]
    assert frame[:2] == b"\x81\x85" and frame[2:6] == key
    assert bytes(b ^ key[i % 4] for i, b in enumerate(frame[6:])) == b"hello"


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=400),
    opcode=st.sampled_from([0, 1, 2, 8, 9, 10]),
    fin=st.booleans(),
    flags=st.sampled_from([0, 0x40]),
    mask=st.booleans(),
)
def test_tornado_frames_hypothesis(data, opcode, fin, flags, mask):
    state = {"rng": None, "calls": 0}

    def reset():
        state["rng"] = random.Random(len(data))
        state["calls"] = 0

    def urandom(n):
        state["calls"] += 1
        return state["rng"].randbytes(n)

    state["reset"] = reset
    real = os.urandom
    os.urandom = urandom
    try:

        def scenario(record):
            proto = _tor_protocol(record, mask)
            _tor_send(record, proto, [(fin, opcode, data, flags)], state)

        without, with_ = _both("tornado", scenario)
    finally:
        os.urandom = real
    assert without == with_


def test_tornado_compressed_end_to_end_same_messages():
    """A compressing client and server over 127.0.0.1: the same messages come back."""
    require("tornado")

    def scenario(record):
        import tornado.web
        import tornado.websocket
        from tornado.httpserver import HTTPServer

        class Echo(tornado.websocket.WebSocketHandler):
            def get_compression_options(self):
                return {}

            def on_message(self, message):
                self.write_message(message, binary=isinstance(message, bytes))

        async def main():
            import socket

            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(4)
            sock.setblocking(False)
            port = sock.getsockname()[1]
            server = HTTPServer(tornado.web.Application([(r"/", Echo)]))
            server.add_sockets([sock])
            try:
                conn = await asyncio.wait_for(
                    tornado.websocket.websocket_connect(
                        "ws://127.0.0.1:%d/" % port, compression_options={}
                    ),
                    10,
                )
                for n in (0, 5, 200, 70000):
                    text = ("é€ wsframe " * (n // 10 + 1))[:n]
                    await asyncio.wait_for(conn.write_message(text), 10)
                    record.append(await asyncio.wait_for(conn.read_message(), 10) == text)
                    blob = _payload(n)
                    await asyncio.wait_for(conn.write_message(blob, binary=True), 10)
                    record.append(await asyncio.wait_for(conn.read_message(), 10) == blob)
                conn.close(4005, "done")
            finally:
                server.stop()

        asyncio.run(main())

    without, with_ = _both("tornado", scenario)
    assert without == with_ == [True] * 8


def test_installed_names_are_listed():
    for name, dotted in (
        ("aiohttp", "aiohttp._websocket.writer.WebSocketWriter._write_websocket_frame"),
        ("tornado", "tornado.websocket.WebSocketProtocol13._write_frame"),
    ):
        integ = _require_aio_writer() if name == "aiohttp" else require(name)
        integ.uninstall()
        try:
            assert dotted in integ.install(force=True)
            assert dotted in wi.installed()[name]
        finally:
            integ.uninstall()


def test_tornado_key_through_tornado_websockets_own_os_name(monkeypatch):
    """A test that replaces ``tornado.websocket.os`` itself still feeds the key."""
    require("tornado")
    import types

    import tornado.websocket

    calls = []

    def urandom(n):
        calls.append(n)
        return b"\x01\x02\x03\x04"[:n]

    monkeypatch.setattr(tornado.websocket, "os", types.SimpleNamespace(urandom=urandom))

    def scenario(record):
        calls.clear()
        proto = _tor_protocol(record, True)
        record.append(proto._write_frame(True, 2, b"\x00" * 8))
        record.append(list(calls))

    without, with_ = _both("tornado", scenario)
    assert without == with_
    assert without[0][2] == b"\x82\x88\x01\x02\x03\x04" + b"\x01\x02\x03\x04" * 2
