"""Send one message to many connections: the frame is encoded once.

A server's frames are not masked, so the bytes of a message's frame are the same for
every recipient: :func:`broadcast` builds them once and hands the *same* ``bytes``
object to every open connection (through the connection's write path, which counts it
in ``buffered_amount`` and coalesces it with the other frames of this event-loop turn).
Its cost per recipient is a few attribute reads and one write at the end of the turn,
not an encode; the connections it queued on are flushed by one event-loop callback for
the whole broadcast, not one per connection. (It works with the connection's own write
queue: ``_out``, ``_out_size``, ``_flush_scheduled``, ``_flush``, ``_loop``,
``transport``, ``_high``, ``_pmd``: keep them in step with ``Connection``.)

A connection that is closing (or closed) is skipped. A connection whose
``buffered_amount`` is above its high-water mark (``write_limit``) is a *slow client*:
the message is not queued for it (so one slow reader cannot make the server's memory
grow without bound: at most its high-water mark plus one message stays buffered); what
else happens is the :class:`SlowClientPolicy`'s choice, made by the application: skip
and count (the default), or close the connection (1008 or 1011, or any code) once it has
missed that many messages in a row.

permessage-deflate: a compressed frame depends on the compressor's history when the
server keeps its compression context between messages (context takeover, the RFC 7692
default): the same message compresses to different bytes on two such connections, and
each one's compressor must see every message it sends, so these connections compress
their own copy (as ``send`` would). Connections that negotiated
``server_no_context_takeover`` compress every message from a fresh state: with the same
parameters (window, level, memory level) the compressed frame is the same for all of
them, so it is compressed once per group of equal parameters and shared like an
uncompressed one. Messages under a connection's compression threshold are sent
uncompressed (the shared uncompressed frame).
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable, Union

from ..deflate import PerMessageDeflate
from . import connection as _connection
from .connection import State

Message = Union[str, bytes, bytearray, memoryview]

_OPEN = State.OPEN
_PRUNE_AT = 256  # strike entries before the closed connections are looked for
_TEXT = 0x1
_BINARY = 0x2


class SlowClientPolicy:
    """What :func:`broadcast` does with a connection above its high-water mark.

    The message is never queued for it (that is what bounds memory). Then:

    - ``close_after=None`` (the default): nothing more; the skip is counted
      (``skipped``) and the connection gets later messages once it has drained below
      its high-water mark. The client misses messages, silently to it.
    - ``close_after=n``: after ``n`` messages skipped *in a row* for the same connection
      (a delivered message resets its count), close it with ``close_code`` (1008 "policy
      violation" by default; 1011 or 1013 "try again later" are the usual alternatives)
      and ``close_reason``: the client learns it fell behind and may reconnect and
      resynchronise. ``close_after=1`` closes at the first skipped message.

    Counters (over every broadcast that used this policy): ``skipped`` (messages not
    queued for a slow connection) and ``closed`` (connections closed by the policy).
    One policy object can serve every broadcast of an application.
    """

    def __init__(
        self, *, close_after: int | None = None, close_code: int = 1008, close_reason: str = "too slow to keep up"
    ) -> None:
        if close_after is not None and (
            isinstance(close_after, bool) or not isinstance(close_after, int) or close_after < 1
        ):
            raise ValueError("close_after must be None (never close) or a positive integer, not %r" % (close_after,))
        if isinstance(close_code, bool) or not isinstance(close_code, int) or not (
            close_code in (1000, 1001, 1008, 1011, 1013) or 3000 <= close_code <= 4999
        ):
            raise ValueError(
                "close_code must be 1000, 1001, 1008, 1011, 1013 or an application code 3000-4999, not %r"
                % (close_code,)
            )
        if not isinstance(close_reason, str) or len(close_reason.encode("utf-8")) > 123:
            raise ValueError("close_reason must be a str of at most 123 UTF-8 bytes")
        self.close_after = close_after
        self.close_code = close_code
        self.close_reason = close_reason
        self.skipped = 0
        self.closed = 0
        # Consecutive skips per connection; entries go when the connection gets a
        # message, is closed by the policy, or is seen closed.
        self._strikes: dict[Any, int] = {}
        self._closing: set[asyncio.Task] = set()

    def _skip(self, conn: Any) -> bool:
        """Count a skip for ``conn``; True when the policy closes it now."""
        self.skipped += 1
        if self.close_after is None:
            return False
        strikes = self._strikes.get(conn, 0) + 1
        if strikes < self.close_after:
            if len(self._strikes) >= _PRUNE_AT:
                self._prune()
            self._strikes[conn] = strikes
            return False
        self._strikes.pop(conn, None)
        self.closed += 1
        task = asyncio.ensure_future(conn.close(self.close_code, self.close_reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return True

    def _prune(self) -> None:
        """Forget the connections that closed (a connection that left the broadcast's
        set while behind would otherwise stay here)."""
        for conn in [c for c in self._strikes if c.state is State.CLOSED]:
            del self._strikes[conn]

    def __repr__(self) -> str:
        return "SlowClientPolicy(close_after=%r, close_code=%r): skipped %d, closed %d" % (
            self.close_after, self.close_code, self.skipped, self.closed)


class BroadcastResult:
    """What one :func:`broadcast` did: ``sent`` (connections the frame was handed to),
    ``skipped_closed`` (not open), ``skipped_slow`` (above their high-water mark),
    ``closed`` (of those, closed by the policy now)."""

    __slots__ = ("sent", "skipped_closed", "skipped_slow", "closed")

    def __init__(self, sent: int, skipped_closed: int, skipped_slow: int, closed: int) -> None:
        self.sent = sent
        self.skipped_closed = skipped_closed
        self.skipped_slow = skipped_slow
        self.closed = closed

    def __repr__(self) -> str:
        return "BroadcastResult(sent=%d, skipped_closed=%d, skipped_slow=%d, closed=%d)" % (
            self.sent, self.skipped_closed, self.skipped_slow, self.closed)


def broadcast(connections: Iterable[Any], message: Message, *, policy: SlowClientPolicy | None = None) -> BroadcastResult:
    """Send ``message`` (``str``: text, bytes-like: binary) to every open connection.

    Synchronous: it queues the frame on each connection and returns (the writes leave
    with the connections' next flush, in this event-loop turn); it never waits for a
    slow client. ``policy`` (a :class:`SlowClientPolicy`) decides about connections
    above their high-water mark; without one they are skipped and counted in the result.

    Example::

        policy = SlowClientPolicy(close_after=100, close_code=1008)
        result = broadcast(room, json.dumps(update), policy=policy)
    """
    if isinstance(message, str):
        return broadcast_payload(connections, _TEXT, message.encode("utf-8"), policy)
    if isinstance(message, (bytes, bytearray, memoryview)):
        return broadcast_payload(connections, _BINARY, message, policy)
    raise TypeError(
        "broadcast() sends a str (text) or a bytes-like object (binary), not %s" % type(message).__name__
    )


def broadcast_payload(connections: Iterable[Any], opcode: int, payload: Any, policy: SlowClientPolicy | None = None) -> BroadcastResult:
    """:func:`broadcast` of a payload already encoded (text: valid UTF-8 bytes)."""
    if policy is None:
        policy = SlowClientPolicy()
    codec = _connection._codec  # the implementation the connections use
    size = len(payload) if type(payload) is bytes else memoryview(payload).nbytes
    frame = codec.encode_header(opcode, size) + payload  # the uncompressed frame
    frame_size = len(frame)
    shared: dict[Any, bytes] = {}  # compression parameters -> compressed frame
    strikes = policy._strikes
    sent = skipped_closed = skipped_slow = closed = 0
    # Connections with nothing queued yet in this loop turn: their flush is scheduled
    # once for all of them (one event-loop callback per broadcast, not per connection).
    to_flush: list = []
    for conn in connections:
        if conn.state is not _OPEN:
            skipped_closed += 1
            if strikes:
                strikes.pop(conn, None)
            continue
        # buffered_amount and _compression_params(), read inline: this loop runs once per
        # recipient, and a Python call is a large part of its cost (callgrind: 6.4k ->
        # 3.8k instructions per recipient with both inlined and the flush below).
        if conn._out_size + conn.transport.get_write_buffer_size() > conn._high:
            skipped_slow += 1
            if policy._skip(conn):
                closed += 1
            continue
        if conn._pmd is None and conn.role == "server":  # the common case first
            if conn._flush_scheduled:
                conn._send_frame_bytes(frame)  # joins what this turn already queued
            else:
                conn._out.append(frame)
                conn._out_size += frame_size
                conn._flush_scheduled = True
                to_flush.append(conn)
        else:
            params = conn._compression_params()
            conn._send_frame_bytes(_frame_for(conn, params, codec, opcode, payload, size, frame, shared))
        sent += 1
        if strikes:
            strikes.pop(conn, None)
    if to_flush:
        to_flush[0]._loop.call_soon(_flush_all, to_flush)
    return BroadcastResult(sent, skipped_closed, skipped_slow, closed)


def _flush_all(connections: list) -> None:
    """End of the loop turn: write what each connection queued (Connection._flush,
    inlined for the usual case: the broadcast frame alone)."""
    for conn in connections:
        out = conn._out
        transport = conn.transport
        if len(out) == 1 and conn.state is _OPEN and not transport.is_closing():
            conn._out = []
            conn._out_size = 0
            conn._flush_scheduled = False
            transport.write(out[0])
        else:
            conn._flush()


def _frame_for(conn: Any, params: Any, codec: Any, opcode: int, payload: Any, size: int, frame: bytes,
               shared: dict) -> bytes:
    """The frame for a connection that is not a plain server one."""
    if conn.role != "server":  # a client masks every frame with a fresh key: no sharing
        return conn._encoder.encode(opcode, payload, True, params is not None and size >= params[_THRESHOLD])
    if size < params[_THRESHOLD]:  # under the compression threshold: sent as is
        return frame
    if not params[-1]:  # no context takeover: the same bytes for equal parameters
        data = shared.get(params)
        if data is None:
            data = shared[params] = _compressed_frame(codec, opcode, payload, params)
        return data
    # Context takeover: its compressor's history is its own: compress through it.
    return conn._encoder.encode(opcode, payload, True, True)


# Positions in Connection._compression_params(): (role, server_no_context_takeover,
# client_no_context_takeover, server_max_window_bits, client_max_window_bits, level,
# mem_level, threshold, deflate_backend, keeps_context).
_THRESHOLD = 7


def _compressed_frame(codec: Any, opcode: int, payload: Any, params: tuple) -> bytes:
    """The frame a fresh compressor with these parameters makes: what every connection
    without context takeover and with equal parameters would send."""
    _role, _snct, _cnct, server_bits, client_bits, level, mem_level, _thr, backend, _keep = params
    compressor = PerMessageDeflate(
        "server",
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
        level=level,
        mem_level=mem_level,
        threshold=0,
        backend=backend,
    )
    return codec.FrameEncoder("server", extensions=[compressor]).encode(opcode, payload, True, True)
