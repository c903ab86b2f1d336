"""Benchmark cases: each library's own receive and send path, with and without install().

Every case drives the library's real code (its protocol object, its parser, its writer)
without sockets, so that what is timed is the library's per-message work: parsing the
frame header, unmasking, validating UTF-8, assembling the message (receive), or building
the frame and masking it (send). Receive paths are measured on the side that gets masked
frames (a server), except for websocket-client, which is a client only and so receives
unmasked frames. Send paths are measured on the client side (masked frames).

Interface (used by ``benchmarks/bench_integrations.py`` and ``python -m wsframe bench``)::

    cases = wsframe.integrations.bench_cases()          # installed libraries only
    for case in cases:
        case.library, case.path, case.size, case.name  # "wsproto", "receive", 1024, ...
        with case.accelerated(True):                    # install() (forced) / uninstall()
            fn = case.prepare()                         # fixtures built in that state
            fn()                                        # handles case.batch messages
        result = case.compare(min_time=0.2)             # both states, best of repeats
        result["without"], result["with"], result["speedup"]   # seconds per message

``prepare()`` must be called inside ``accelerated(...)``: some libraries pick their
masker when a connection object is built.
"""

import asyncio
import contextlib
import os
import struct
import time
import warnings

__all__ = ["BenchCase", "bench_cases", "SIZES"]

SIZES = (32, 1024, 65536)
_MASK = b"\x37\xfa\x21\x3d"


def _text_payload(size):
    # Mostly ASCII with some 2-, 3- and 4-byte characters, so UTF-8 validation is real.
    unit = "wsframe é € 😀 " * 4
    raw = unit.encode("utf-8")
    data = (raw * (size // len(raw) + 1))[:size]
    # Do not cut a character: trim continuation bytes off the end.
    text = data.decode("utf-8", "ignore")
    raw = text.encode("utf-8")
    return raw + b"a" * (size - len(raw))


def _frame(opcode, payload, mask):
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = _MASK
    reps = n // 4 + 1
    k = int.from_bytes((key * reps)[:n], "big")
    body = (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big") if n else b""
    return head + key + body


def _batch_for(size):
    return max(1, min(256, (256 * 1024) // max(size, 1)))


class BenchCase:
    """One library x path x size. ``prepare()`` returns a callable doing ``batch`` messages."""

    def __init__(self, library, path, size, builder):
        self.library = library
        self.path = path
        self.size = size
        self.batch = _batch_for(size)
        self.name = "%s-%s-%s" % (library, path, _size_name(size))
        self._builder = builder

    def __repr__(self):
        return "<BenchCase %s>" % self.name

    @contextlib.contextmanager
    def accelerated(self, on):
        """Install (forced, so it also runs interpreted) or uninstall this library."""
        from . import get

        integ = get(self.library)
        was = integ.installed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if on:
                integ.install(force=True)
            else:
                integ.uninstall()
        try:
            yield
        finally:
            if was:
                integ.install(force=True)
            else:
                integ.uninstall()

    def prepare(self):
        return self._builder(self.size, self.batch)

    def time(self, on, min_time=0.2, repeat=5, clock=time.perf_counter):
        """Best seconds per message over ``repeat`` runs taking ``min_time`` in all, on
        ``clock`` (``time.thread_time`` for CPU time: benchmarks/ab_integrations_cpu.py)."""
        with self.accelerated(on):
            fn = self.prepare()
            fn()  # warm up, and check that it works
            best = None
            for _ in range(repeat):
                loops = 0
                start = clock()
                while True:
                    fn()
                    loops += 1
                    elapsed = clock() - start
                    if elapsed >= min_time / repeat:
                        break
                per = elapsed / (loops * self.batch)
                best = per if best is None else min(best, per)
            return best

    def compare(self, min_time=0.2, repeat=5):
        without = self.time(False, min_time, repeat)
        with_ = self.time(True, min_time, repeat)
        return {"without": without, "with": with_, "speedup": without / with_}


def _size_name(size):
    if size >= 1024 and size % 1024 == 0:
        return "%dKiB" % (size // 1024)
    return "%dB" % size


# --------------------------------------------------------------------------------------
# websockets (sans-I/O Protocol)


def _websockets_protocol(side):
    from websockets.protocol import OPEN, Protocol, Side

    proto = Protocol(getattr(Side, side), state=OPEN, max_size=None)
    return proto


def _websockets_receive(size, batch):
    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=True) * batch
    proto = _websockets_protocol("SERVER")

    def run():
        proto.receive_data(wire)
        events = proto.events_received()
        if len(events) != batch:
            raise AssertionError("websockets received %d frames" % len(events))

    return run


def _websockets_send(size, batch):
    payload = _text_payload(size)
    proto = _websockets_protocol("CLIENT")
    text = payload  # websockets sends text frames from bytes (send_text takes bytes)

    def run():
        for _ in range(batch):
            proto.send_text(text)
        out = proto.data_to_send()
        if not out:
            raise AssertionError("websockets produced nothing")

    return run


# --------------------------------------------------------------------------------------
# wsproto


def _wsproto_receive(size, batch):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=True) * batch
    conn = Connection(ConnectionType.SERVER)

    def run():
        conn.receive_data(wire)
        n = 0
        for event in conn.events():
            if not isinstance(event, TextMessage):
                raise AssertionError(event)
            n += 1
        if n != batch:
            raise AssertionError("wsproto received %d messages" % n)

    return run


def _wsproto_send(size, batch):
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    text = _text_payload(size).decode("utf-8")
    conn = Connection(ConnectionType.CLIENT)

    def run():
        for _ in range(batch):
            out = conn.send(TextMessage(data=text))
        if not out:
            raise AssertionError("wsproto produced nothing")

    return run


# --------------------------------------------------------------------------------------
# aiohttp


class _Transport:
    def __init__(self):
        self.n = 0

    def write(self, data):
        self.n += len(data)

    def is_closing(self):
        return False


class _Protocol:
    _paused = False
    _reading_paused = False

    def pause_reading(self):  # pragma: no cover - the limit is never reached
        self._reading_paused = True

    def resume_reading(self):  # pragma: no cover
        self._reading_paused = False


def _aiohttp_receive(size, batch):
    from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=True) * batch
    loop = asyncio.new_event_loop()
    queue = WebSocketDataQueue(_Protocol(), 2**30, loop=loop)
    try:
        reader = WebSocketReader(queue, 0, False, True)  # (3.14: decode_text)
    except TypeError:
        reader = WebSocketReader(queue, 0, False)  # (3.13)

    def run():
        reader.feed_data(wire)
        n = 0
        while queue._buffer:
            # What the application's ``await ws.receive()`` does, without a loop turn.
            coro = queue.read()
            try:
                coro.send(None)
            except StopIteration:
                n += 1
            else:  # pragma: no cover - a non-empty queue never suspends
                coro.close()
                raise AssertionError("aiohttp's queue.read suspended")
        if n != batch:
            raise AssertionError("aiohttp received %d messages" % n)

    run.loop = loop
    return run


def _aiohttp_send(size, batch):
    from aiohttp._websocket.writer import WebSocketWriter

    payload = _text_payload(size)
    transport = _Transport()
    writer = WebSocketWriter(_Protocol(), transport, use_mask=True, limit=2**62)

    def run():
        for _ in range(batch):
            coro = writer.send_frame(payload, 0x1)
            try:
                coro.send(None)
            except StopIteration:
                pass
            else:  # pragma: no cover - uncompressed frames never suspend
                coro.close()
                raise AssertionError("aiohttp's send_frame suspended")

    return run


# --------------------------------------------------------------------------------------
# tornado


class _TornadoStream:
    """Just enough of IOStream: read_bytes() from a preloaded buffer, write() counted."""

    def __init__(self, loop):
        self.loop = loop
        self.buf = b""
        self.pos = 0
        self.written = 0

    def read_bytes(self, n, partial=False):
        fut = self.loop.create_future()
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        fut.set_result(data)
        return fut

    def write(self, data):
        self.written += len(data)
        fut = self.loop.create_future()
        fut.set_result(None)
        return fut

    def set_close_callback(self, cb):
        pass

    def closed(self):
        return False


class _TornadoHandler:
    def __init__(self):
        self.n = 0
        self.last = None

    def on_message(self, message):
        self.n += 1
        self.last = message

    def on_ping(self, data):
        pass

    def on_pong(self, data):
        pass

    def on_ws_connection_close(self, code, reason):
        pass

    def log_exception(self, *args):  # pragma: no cover
        pass


def _tornado_protocol(mask_outgoing):
    from tornado.websocket import WebSocketProtocol13, _WebSocketParams

    loop = asyncio.new_event_loop()
    handler = _TornadoHandler()
    proto = WebSocketProtocol13(handler, mask_outgoing=mask_outgoing, params=_WebSocketParams())
    proto.stream = _TornadoStream(loop)
    return proto, handler, loop


def _tornado_receive(size, batch):
    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=True) * batch
    proto, handler, loop = _tornado_protocol(False)
    stream = proto.stream

    def run():
        stream.buf = wire
        stream.pos = 0
        handler.n = 0
        for _ in range(batch):
            coro = proto._receive_frame()
            try:
                coro.send(None)
            except StopIteration:
                pass
            else:  # pragma: no cover
                coro.close()
                raise AssertionError("tornado's _receive_frame suspended")
        if handler.n != batch:
            raise AssertionError("tornado received %d messages" % handler.n)

    run.loop = loop
    return run


def _tornado_send(size, batch):
    payload = _text_payload(size)
    proto, handler, loop = _tornado_protocol(True)

    def run():
        for _ in range(batch):
            proto._write_frame(True, 0x1, payload)

    run.loop = loop
    return run


# --------------------------------------------------------------------------------------
# autobahn


def _autobahn_protocol(server):
    import txaio

    txaio.use_asyncio()
    from autobahn.testutil import FakeTransport
    from autobahn.wamp.types import TransportDetails
    from autobahn.asyncio.websocket import (
        WebSocketClientFactory,
        WebSocketClientProtocol,
        WebSocketServerFactory,
        WebSocketServerProtocol,
    )

    loop = asyncio.new_event_loop()
    if server:
        factory, proto = WebSocketServerFactory(loop=loop), WebSocketServerProtocol()
    else:
        factory, proto = WebSocketClientFactory(loop=loop), WebSocketClientProtocol()
    factory.log = txaio.make_logger()
    proto.log = txaio.make_logger()
    proto.factory = factory
    proto.transport = FakeTransport()
    proto._transport_details = TransportDetails()
    proto._connectionMade()
    proto.state = proto.STATE_OPEN
    proto.websocket_version = 18
    # What the end of the opening handshake sets up.
    proto.inside_message = False
    proto.current_frame = None
    for call in (
        proto.autoPingPendingCall,
        proto.autoPingTimeoutCall,
        proto.openHandshakeTimeoutCall,
        proto.closeHandshakeTimeoutCall,
    ):
        if call is not None:
            call.cancel()
    return proto


class _Counter:
    n = 0


def _autobahn_receive(size, batch):
    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=True) * batch
    proto = _autobahn_protocol(server=True)
    counter = _Counter()

    def on_message(payload, is_binary):
        counter.n += 1

    proto.onMessage = on_message

    def run():
        counter.n = 0
        proto._dataReceived(wire)
        if counter.n != batch:
            raise AssertionError("autobahn received %d messages" % counter.n)

    return run


def _autobahn_send(size, batch):
    payload = _text_payload(size)
    proto = _autobahn_protocol(server=False)
    transport = proto.transport

    class _Sink:
        def write(self, data):
            pass

    proto.transport = _Sink()
    del transport

    def run():
        for _ in range(batch):
            proto.sendMessage(payload, isBinary=False)

    return run


# --------------------------------------------------------------------------------------
# websocket-client (client only: receives unmasked frames, sends masked frames)


def _wsclient_receive(size, batch):
    from websocket._abnf import ABNF, continuous_frame, frame_buffer

    payload = _text_payload(size)
    wire = _frame(0x1, payload, mask=False) * batch
    state = {"pos": 0}

    def recv(bufsize):
        pos = state["pos"]
        chunk = wire[pos : pos + bufsize]
        state["pos"] = pos + len(chunk)
        return chunk

    buffer = frame_buffer(recv, skip_utf8_validation=False)
    cont = continuous_frame(fire_cont_frame=False, skip_utf8_validation=False)

    def run():
        state["pos"] = 0
        for _ in range(batch):
            # What WebSocket.recv_data_frame() does with a data frame.
            frame = buffer.recv_frame()
            cont.validate(frame)
            cont.add(frame)
            if cont.is_fire(frame):
                opcode, frame = cont.extract(frame)
                if opcode != ABNF.OPCODE_TEXT:
                    raise AssertionError(opcode)

    return run


def _wsclient_send(size, batch):
    from websocket._abnf import ABNF

    payload = _text_payload(size).decode("utf-8")

    def run():
        for _ in range(batch):
            ABNF.create_frame(payload, ABNF.OPCODE_TEXT).format()

    return run


_BUILDERS = {
    "websockets": (_websockets_receive, _websockets_send),
    "wsproto": (_wsproto_receive, _wsproto_send),
    "aiohttp": (_aiohttp_receive, _aiohttp_send),
    "tornado": (_tornado_receive, _tornado_send),
    "autobahn": (_autobahn_receive, _autobahn_send),
    "websocket_client": (_wsclient_receive, _wsclient_send),
}


def bench_cases(libraries=None, sizes=SIZES, paths=("receive", "send")):
    """The benchmark cases for every installed library (or those named), known versions only."""
    from . import LIBRARIES, get

    names = LIBRARIES if libraries is None else tuple(libraries)
    cases = []
    for name in names:
        integ = get(name)
        if not integ.available() or not integ.known_version():
            continue
        receive, send = _BUILDERS[name]
        for path in paths:
            builder = receive if path == "receive" else send
            for size in sizes:
                cases.append(BenchCase(name, path, size, builder))
    return cases
