"""One WebSocket connection: an ``asyncio.Protocol`` on the sans-IO codec.

The event loop calls ``data_received`` with whatever the socket gave; the decoder turns it
into messages that wait in a deque until ``recv()`` takes them (no future, no task switch
when a message is already there). Frames sent during one turn of the loop are collected
and written with one ``transport.write``/``writelines`` at the end of the turn.
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import enum
import logging
import os
import threading
import time
from typing import Any, Iterable, Optional, Tuple, Union

import wsframe as _codec_module

from .._errors import Opcode, ProtocolError
from .exceptions import ConnectionClosed, ConnectionClosedOK, closed_error
from .http import Request
from .options import Options

__all__ = ["Connection", "State"]

logger = logging.getLogger("wsframe.asyncio")

# Where FrameDecoder/FrameEncoder come from: the active implementation. The tests point
# it at one implementation or the other (set_codec).
_codec: Any = _codec_module

Data = Union[str, bytes]
_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CONT = int(Opcode.CONTINUATION)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)
# A received message costs its length plus this much of read_limit: the objects and the
# deque slot around it, so that a flood of empty messages also pauses reading.
MESSAGE_OVERHEAD = 64
# Server payloads at least this long go out as (header, payload) with no copy.
_PARTS_FROM = 16 * 1024
# Reads land in one buffer per thread (a loop runs in one thread, and the transport hands
# each read to buffer_updated before it reads again), copied out at the read's length. A
# plain Protocol's transport allocates max_size (256 KiB) per read and shrinks it: past
# glibc's mmap threshold that is an mmap, mremap and munmap per read, measured to double
# the server's CPU per message at one message per read.
READ_BUFFER_SIZE = 256 * 1024
_read_buffers = threading.local()


def _read_buffer() -> memoryview:
    view = getattr(_read_buffers, "view", None)
    if view is None:
        view = _read_buffers.view = memoryview(bytearray(READ_BUFFER_SIZE))
    return view


def set_codec(codec: Any) -> Any:
    """Use ``codec`` (a namespace with FrameDecoder and FrameEncoder, e.g. an
    implementation of ``wsframe._impl.load``) for connections opened from now on;
    return the previous one. For tests and comparisons."""
    global _codec
    previous, _codec = _codec, codec
    return previous


class State(enum.IntEnum):
    """Where the connection is (the browser API's ``readyState``)."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


_OPEN = State.OPEN
_CLOSED = State.CLOSED


def _truncate_reason(reason: str) -> str:
    """A close reason that fits a control frame (123 bytes of UTF-8)."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= 123:
        return reason
    return encoded[:120].decode("utf-8", "ignore") + "..."


class Connection(asyncio.BufferedProtocol):
    """An open WebSocket connection (server or client side).

    Receive with ``async for message in conn`` (ends quietly on close codes 1000/1001,
    raises :class:`ConnectionClosedError` on the others) or ``await conn.recv()``; text
    arrives as ``str``, binary as ``bytes``. Send with ``await conn.send(message)``: a
    ``str`` is a text message, a bytes-like a binary one, an iterable of them a message
    sent in fragments. ``send`` returns at once while ``buffered_amount`` is under the
    high mark of ``write_limit`` and waits for the socket to drain below the low mark
    otherwise::

        async def handler(conn):
            async for message in conn:
                await conn.send(message)  # echo

    Attributes: ``state`` (:class:`State`), ``request`` (path and headers of the opening
    handshake), ``subprotocol``, ``remote_address``, ``close_code``, ``close_reason``,
    ``latency`` (seconds, of the last ping answered), ``buffered_amount``,
    ``write_limit`` (``(high, low)``).

    ``close_code`` is the code of the close frame the peer sent (1005 when it had none);
    when we failed the connection ourselves (a protocol error from the peer, a heartbeat
    timeout), the code we sent; 1006 when the connection was lost without either.

    Internal hooks for :mod:`wsframe.asyncio.broadcast` (stable names, not public API):
    ``state``; ``_send_frame_bytes(data)`` queues already-encoded frame bytes on the same
    path as ``send`` (coalesced per loop turn, never copied, counted in
    ``buffered_amount``; the caller checks ``state`` and ``buffered_amount`` against
    ``write_limit`` itself); ``_compression_params()``: ``None`` without
    permessage-deflate, otherwise a hashable key of the negotiated parameters whose last
    item tells whether this side's compressor keeps its context between messages (frames
    may be shared only between connections with equal keys whose last item is False).
    """

    role = "server"

    def __init__(self, options: Options, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._options = options
        self.state = State.CONNECTING
        self.transport: Optional[asyncio.Transport] = None
        self.request: Optional[Request] = None
        self.subprotocol: Optional[str] = None
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.latency = 0.0
        self.write_limit: Tuple[int, int] = (options.write_high, options.write_low)
        self._high = options.write_high
        self._read_limit = options.read_limit
        self._decoder: Any = None
        self._encoder: Any = None
        self._pmd: Any = None
        # Received messages not yet taken by recv(), and what they cost of read_limit.
        self._queue: collections.deque = collections.deque()
        self._queued = 0
        self._recv_waiter: Optional[asyncio.Future] = None
        self._reading_paused = False
        # Frames written during this loop turn, flushed by one call_soon.
        self._out: list = []
        self._out_size = 0
        self._flush_scheduled = False
        self._eager = False  # see _send_message_frame
        self._write_paused = False
        self._drain_waiters: list = []
        self._pending_pong: Optional[bytes] = None
        self._close_sent = False
        self._close_received = False
        self._closed: asyncio.Future = self._loop.create_future()
        self._pings: dict = {}
        self._heartbeat_payload: Optional[bytes] = None
        self._heartbeat_handle: Optional[asyncio.Handle] = None
        self._ping_timeout_handle: Optional[asyncio.Handle] = None
        self._close_timer: Optional[asyncio.Handle] = None
        # A protocol error found after messages the application has not taken yet: the
        # connection fails once it took them (so an echo of them still goes out first),
        # or after close_timeout.
        self._failure: Optional[Tuple[int, str]] = None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._read_view = _read_buffer()
        transport.set_write_buffer_limits(high=self._high, low=self.write_limit[1])  # type: ignore[attr-defined]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._read_view[:nbytes]))

    def data_received(self, data: bytes) -> None:
        if self._decoder is None:
            self._head_received(data)
        else:
            self._frames_received(data)

    def eof_received(self) -> Optional[bool]:
        return None  # close the transport: a WebSocket never half-closes

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        pong = self._pending_pong
        if pong is not None and not self._close_sent:
            self._pending_pong = None
            self._send_frame_bytes(self._encoder.pong(pong))

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.state = _CLOSED
        if self.close_code is None:
            self.close_code = 1006
        self._failure = None
        for handle in (self._heartbeat_handle, self._ping_timeout_handle, self._close_timer):
            if handle is not None:
                handle.cancel()
        self._out = []
        self._out_size = 0
        error = self._closed_exception()
        for waiter, _sent in self._pings.values():
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
        self._pings.clear()
        self.resume_writing()
        self._wake_receiver()
        if not self._closed.done():
            self._closed.set_result(None)
        self._connection_ended()

    # -- hooks of the server and client subclasses -----------------------------------

    def _head_received(self, data: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _connection_ended(self) -> None:
        """Called once the transport is gone."""

    def _open(self, extension: Any, subprotocol: Optional[str], leftover: bytes) -> None:
        """The handshake succeeded: start framing (``leftover``: bytes after the head)."""
        extensions = [extension] if extension is not None else []
        self._pmd = extension
        self.subprotocol = subprotocol
        self._decoder = _codec.FrameDecoder(
            self.role, max_message_size=self._options.max_message_size, extensions=extensions
        )
        self._encoder = _codec.FrameEncoder(self.role, extensions=extensions)
        self.state = _OPEN
        if self._options.ping_interval is not None:
            self._heartbeat_handle = self._loop.call_later(
                self._options.ping_interval, self._heartbeat
            )
        if leftover:
            self._frames_received(leftover)

    # -- receiving ----------------------------------------------------------------------

    def _frames_received(self, data: bytes) -> None:
        if self._close_received or self._failure is not None:
            return  # nothing may follow a close frame or an error; the transport is closing
        try:
            events = self._decoder.feed(data)
        except ProtocolError as exc:
            self._on_events(exc.events)  # type: ignore[attr-defined]
            if self._queue and self.state is _OPEN:
                self._failure = (exc.code, exc.reason)
                self.transport.pause_reading()  # type: ignore[union-attr]
                self._close_timer = self._loop.call_later(
                    self._options.close_timeout, self._fail_pending
                )
            else:
                self._fail(exc.code, exc.reason)
            return
        if events:
            self._on_events(events)

    def _on_events(self, events: list) -> None:
        queue = self._queue
        received = 0
        for event in events:
            opcode = event.opcode
            if opcode <= _BINARY:
                data = event.data
                queue.append(data)
                received += len(data) + MESSAGE_OVERHEAD
            elif opcode == _PING:
                if self._close_sent:
                    continue
                if self._write_paused:
                    # RFC 6455 5.5.3: answering the latest ping is enough; keeps the write
                    # buffer bounded against a peer that pings but does not read.
                    self._pending_pong = event.data
                else:
                    self._send_frame_bytes(self._encoder.pong(event.data))
            elif opcode == _PONG:
                self._on_pong(event.data)
            else:
                self._on_close(event)
                break
        if received:
            self._eager = True
            self._queued += received
            waiter = self._recv_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if self._queued >= self._read_limit and not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()  # type: ignore[union-attr]

    def _on_close(self, event: Any) -> None:
        self._close_received = True
        code = event.code
        self.close_code = 1005 if code is None else code
        self.close_reason = event.reason
        if not self._close_sent:
            self._send_close_frame(code, "")  # echo the peer's code (RFC 6455 5.5.1)
        self.state = State.CLOSING
        self._flush()
        if self.role == "server":
            self.transport.close()  # type: ignore[union-attr]
        else:
            # The server closes TCP first (RFC 6455 7.1.1); don't wait for it forever.
            self._start_close_timer()
        self._wake_receiver()

    def _wake_receiver(self) -> None:
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail_pending(self) -> None:
        failure = self._failure
        if failure is not None:
            self._failure = None
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self._fail(*failure)

    def _closed_exception(self) -> ConnectionClosed:
        code = self.close_code if self.close_code is not None else 1006
        return closed_error(code, self.close_reason)

    def _take(self) -> Data:
        data = self._queue.popleft()
        self._queued -= len(data) + MESSAGE_OVERHEAD
        if self._reading_paused and self._queued <= self._read_limit >> 1:
            self._reading_paused = False
            if self.state is not _CLOSED and self._failure is None:
                self.transport.resume_reading()  # type: ignore[union-attr]
        return data

    async def recv(self) -> Data:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Raises :class:`ConnectionClosed` once the connection is closed and every message
        received before the close was taken.
        """
        while True:
            if self._queue:
                return self._take()
            if self._failure is not None:
                self._fail_pending()
            if self.close_code is not None:  # set by a close frame, a failure or the end
                raise self._closed_exception()
            if self._recv_waiter is not None:
                raise RuntimeError("recv() is already being awaited by another coroutine")
            waiter = self._recv_waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._recv_waiter = None

    def __aiter__(self) -> "Connection":
        return self

    async def __anext__(self) -> Data:
        if self._queue:
            return self._take()
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    # -- sending ------------------------------------------------------------------------

    def _send_message_frame(self, data: bytes) -> None:
        # The first message sent after a read, once the application took every message
        # received, is most likely a lone answer: write it now rather than at the end of
        # the turn (saves a loop iteration per request/response; measured ~20% of the
        # server CPU per message with one message in flight). Anything else sent before
        # the next read is coalesced as usual.
        if self._eager and not self._out and not self._queue:
            self._eager = False
            self.transport.write(data)  # type: ignore[union-attr]
        else:
            self._send_frame_bytes(data)

    def _send_frame_bytes(self, data: Any) -> None:
        """Queue encoded frame bytes; written (with everything else queued during this
        loop turn) by one write at the end of the turn."""
        self._out.append(data)
        self._out_size += len(data) if type(data) is bytes else memoryview(data).nbytes
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if not out:
            return
        self._out = []
        self._out_size = 0
        transport = self.transport
        if self.state is _CLOSED or transport is None or transport.is_closing():
            return
        if len(out) == 1:
            transport.write(out[0])
        else:
            transport.writelines(out)

    @property
    def buffered_amount(self) -> int:
        """Bytes accepted by ``send`` (and control frames) not yet written to the socket."""
        transport = self.transport
        if transport is None or self.state is _CLOSED:
            return 0
        return self._out_size + transport.get_write_buffer_size()

    async def send(self, message: Union[Data, bytearray, memoryview, Iterable[Data]]) -> None:
        """Send a message: ``str`` as text, bytes-like as binary, an iterable of
        ``str`` (or of bytes-likes) as one message in fragments.

        Returns at once while ``buffered_amount`` stays under the high mark of
        ``write_limit``; above it, waits until the socket drained to the low mark.
        Raises :class:`ConnectionClosed` when the connection is closing or closed.
        """
        if self.state is not _OPEN:
            raise self._closed_exception()
        encoder = self._encoder
        if type(message) is str:
            if self._pmd is None and self.role == "server" and len(message) >= _PARTS_FROM:
                self._send_parts(_TEXT, message.encode("utf-8"))
            else:
                self._send_message_frame(encoder.text(message))
        elif isinstance(message, (bytes, bytearray, memoryview)):
            # Only immutable bytes are queued uncopied: a bytearray could change before
            # the end of the turn.
            if type(message) is bytes and self._pmd is None and self.role == "server" and len(message) >= _PARTS_FROM:
                self._send_parts(_BINARY, message)
            else:
                self._send_message_frame(encoder.binary(message))
        elif isinstance(message, collections.abc.Iterable):
            self._send_fragments(message)
        else:
            raise TypeError(
                "send() takes str, a bytes-like object or an iterable of them, not %s"
                % type(message).__name__
            )
        if self._write_paused or self._out_size > self._high:
            await self._drain()

    def _send_parts(self, opcode: int, payload: Any) -> None:
        header, body = self._encoder.encode_parts(opcode, payload)
        self._send_frame_bytes(header)
        self._send_frame_bytes(body)

    def _send_fragments(self, fragments: Iterable[Data]) -> None:
        iterator = iter(fragments)
        try:
            current = next(iterator)
        except StopIteration:
            return  # nothing to send
        text = isinstance(current, str)
        if not text and not isinstance(current, (bytes, bytearray, memoryview)):
            raise TypeError("fragments must be str or bytes-like, not %s" % type(current).__name__)
        opcode = _TEXT if text else _BINARY
        compress = self._pmd is not None
        frames = []
        for following in iterator:
            if isinstance(following, str) != text:
                raise TypeError("every fragment of a message must be str, or every one bytes")
            frames.append(self._encoder.encode(opcode, current, False, compress))
            opcode, compress, current = _CONT, False, following
        frames.append(self._encoder.encode(opcode, current, True, compress))
        for frame in frames:  # queued only once every fragment was encoded
            self._send_frame_bytes(frame)

    async def _drain(self) -> None:
        self._flush()
        if not self._write_paused or self.state is _CLOSED:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter
        if self.state is _CLOSED:
            raise self._closed_exception()

    # -- ping / pong / heartbeat ---------------------------------------------------------

    async def ping(self, data: Union[str, bytes, None] = None) -> float:
        """Send a ping; return the round-trip time in seconds once its pong arrives.

        ``data`` (at most 125 bytes) defaults to 4 random bytes. Wrap in
        ``asyncio.wait_for`` to bound the wait::

            latency = await asyncio.wait_for(conn.ping(), 5)
        """
        if self.state is not _OPEN:
            raise self._closed_exception()
        if data is None:
            data = os.urandom(4)
            while data in self._pings:
                data = os.urandom(4)
        else:
            data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            if data in self._pings:
                raise ValueError("a ping with this payload is already waiting for its pong")
        frame = self._encoder.ping(data)  # ValueError past 125 bytes
        waiter = self._loop.create_future()
        self._pings[data] = (waiter, time.perf_counter())
        self._send_frame_bytes(frame)
        return await waiter

    def _on_pong(self, data: bytes) -> None:
        pings = self._pings
        if data not in pings:
            return  # unsolicited pong: allowed, ignored
        now = time.perf_counter()  # not loop.time(): uvloop's has millisecond steps
        # A pong answers its ping and every earlier one (RFC 6455 5.5.3).
        for key in list(pings):
            waiter, sent = pings.pop(key)
            self.latency = now - sent
            if waiter is not None and not waiter.done():
                waiter.set_result(self.latency)
            if key == data:
                break
        if self._heartbeat_payload is not None and self._heartbeat_payload not in pings:
            self._heartbeat_payload = None
            if self._ping_timeout_handle is not None:
                self._ping_timeout_handle.cancel()
                self._ping_timeout_handle = None
            if self.state is _OPEN and self._options.ping_interval is not None:
                self._heartbeat_handle = self._loop.call_later(
                    self._options.ping_interval, self._heartbeat
                )

    def _heartbeat(self) -> None:
        self._heartbeat_handle = None
        if self.state is not _OPEN:
            return
        payload = os.urandom(4)
        while payload in self._pings:
            payload = os.urandom(4)
        self._heartbeat_payload = payload
        self._pings[payload] = (None, time.perf_counter())
        self._send_frame_bytes(self._encoder.ping(payload))
        timeout = self._options.ping_timeout
        if timeout is not None:
            self._ping_timeout_handle = self._loop.call_later(timeout, self._zombie)

    def _zombie(self) -> None:
        """The peer did not answer a heartbeat ping in time: close 1011 and abort."""
        self._ping_timeout_handle = None
        if self.state is _CLOSED:
            return
        logger.debug("%s: no pong within ping_timeout; aborting", self)
        self.close_code = 1011
        self.close_reason = "keepalive ping timeout"
        transport = self.transport
        if not self._close_sent and transport is not None:
            self._close_sent = True
            self._flush()
            transport.write(self._encoder.close(1011, self.close_reason))
        self.state = State.CLOSING
        if transport is not None:
            transport.abort()

    # -- closing ------------------------------------------------------------------------

    def _send_close_frame(self, code: Optional[int], reason: str) -> None:
        frame = self._encoder.close(code, reason)
        self._close_sent = True
        self._send_frame_bytes(frame)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): send a close frame, close TCP."""
        if self.state is _CLOSED:
            return
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        if not self._close_sent:
            self._send_close_frame(code, _truncate_reason(reason))
        self.state = State.CLOSING
        self._flush()
        if self.transport is not None:
            self.transport.close()
        self._wake_receiver()

    def _start_close_timer(self) -> None:
        if self._close_timer is None and self.state is not _CLOSED:
            self._close_timer = self._loop.call_later(self._options.close_timeout, self._abort)

    def _abort(self) -> None:
        self._close_timer = None
        if self.transport is not None and self.state is not _CLOSED:
            self.transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait (at most ``close_timeout``) for it to end.

        ``code`` is a close code an endpoint may send (1000, 1001, 1003, 1007-1014,
        3000-4999), ``reason`` at most 123 bytes of UTF-8. Closing a closed connection
        does nothing.
        """
        if self.state is _OPEN:
            self._send_close_frame(code, reason)  # ValueError for a code that may not be sent
            self.state = State.CLOSING
            self._flush()
        elif self.state is State.CONNECTING:
            self._abort()
        await self._wait_closed_or_abort()

    async def _wait_closed_or_abort(self) -> None:
        """Wait for the end of a close we started, at most ``close_timeout``: then abort."""
        if self._closed.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), self._options.close_timeout)
        except asyncio.TimeoutError:
            self._abort()
            await self._closed

    async def wait_closed(self) -> None:
        """Wait until the connection is closed, however long that takes (it starts no
        closing handshake and never aborts: ``close()`` does that, bounded)."""
        await asyncio.shield(self._closed)

    # -- the rest of the API ------------------------------------------------------------

    @property
    def remote_address(self) -> Any:
        """The peer's address (``(host, port)`` for TCP), or None."""
        if self.transport is None:
            return None
        return self.transport.get_extra_info("peername")

    @property
    def closed(self) -> bool:
        return self.state is _CLOSED

    def _compression_params(self) -> Optional[tuple]:
        """None without permessage-deflate, else a hashable key of the agreed parameters
        and of our compressor's settings; its last item: this side's compressor keeps
        its context between messages (frames are shareable only when it is False)."""
        pmd = self._pmd
        if pmd is None:
            return None
        ours = pmd.server_no_context_takeover if self.role == "server" else pmd.client_no_context_takeover
        return (
            self.role,
            pmd.server_no_context_takeover,
            pmd.client_no_context_takeover,
            pmd.server_max_window_bits,
            pmd.client_max_window_bits,
            pmd.level,
            pmd.mem_level,
            pmd.threshold,
            pmd.deflate_backend,
            not ours,
        )

    def __repr__(self) -> str:
        return "<%s %s %s %s>" % (
            type(self).__name__,
            self.role,
            self.state.name,
            self.remote_address,
        )
