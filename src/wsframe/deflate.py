"""permessage-deflate (RFC 7692): negotiation and bounded (de)compression.

One :class:`PerMessageDeflate` per connection, handed to that connection's
``FrameDecoder`` and ``FrameEncoder`` (``extensions=[pmd]``). The codec owns the framing
rules (which RSV bits are legal, RSV1 on the first frame only, no compressed control
frames, sizes); this module owns the negotiation and the DEFLATE streams.

Negotiation::

    # client                                   # server
    offer = client_offer()                     pmd, value = server_negotiate(
    ... send it in Sec-WebSocket-Extensions        header value the client sent)
    pmd = client_accept(offer, header value    ... put value in the 101 response
                        the server sent)

Decisions (see docs/deflate.md for the measurements behind them):

Window bits 8
    zlib (and zlib-ng) refuse ``wbits=-8`` for raw deflate and ISA-L does too, so an
    agreement that *our* compressor uses a 256-byte window cannot be honoured literally.
    We still accept it: zlib and zlib-ng never emit a match farther than
    ``2**wbits - 262`` bytes back (``MAX_DIST``: the window minus the 262-byte
    lookahead), so a stream compressed with ``wbits=9`` refers at most 250 bytes back
    and is valid for a peer inflating with a 256-byte window. ISA-L, on the contrary,
    uses its whole window (a distance of up to 512 with ``wbits=9``), so when our side
    must use 8 the compressor of that connection is zlib-ng (or zlib), whatever the
    backend. The tests check the distances with a strict inflater for every backend and
    window.

Window bits of the peer
    We inflate with a 15-bit window whatever window the peer agreed to use. A raw
    DEFLATE stream does not encode its window, so every stream that keeps to the
    agreement inflates exactly as with the agreed window. zlib cannot enforce a smaller
    window anyway: it checks a distance only against the output of *earlier*
    ``decompress()`` calls, so with the agreed window a reference beyond it was accepted
    or refused depending on how the message happened to be read. With 15 bits, any
    reference back into what the stream has inflated so far is accepted, however the
    message is read (and, after a BFINAL restart, into the agreed window given to the new
    stream as its dictionary). Cost: up to 32 KiB of inflater window per connection with
    the peer's context takeover, instead of ``2**bits`` (docs/deflate.md).

Threshold (default 128 bytes)
    Below it a message is sent uncompressed (RSV1 clear). Measured on JSON-like text, a
    64-byte message deflates to 53 bytes and a 96-byte one to 80 (no shared context):
    a gain smaller than the 40-60 bytes of TCP/IP and WebSocket headers around it, paid
    with a compressor call. An uncompressed message does not enter the compressor's
    window, so skipping it costs the following messages nothing.

Backends
    ``"zlib"`` (standard library), ``"zlib-ng"`` (PyPI ``zlib-ng``), ``"isal"`` (PyPI
    ``isal``). ``"auto"`` takes zlib-ng, then isal, then zlib: zlib-ng honours every
    zlib parameter (levels 0-9, windows, strategies) and is faster in both directions,
    so it changes nothing but speed; ISA-L is the fastest compressor but has only four
    levels and no ``mem_level``: zlib levels are mapped 0-1 -> 0, 2-6 -> 1, 7-8 -> 2,
    9 -> 3 (ISA-L's level 0 still compresses; it is not zlib's "stored"), ``mem_level``
    is ignored. All produce standard DEFLATE; the bytes differ, the inflated result does
    not.

Decompression bombs
    :meth:`PerMessageDeflate.inflate` never produces more than ``max_out + 1`` bytes per
    call (``max_length`` of zlib's ``decompress``), so memory stays a small multiple of
    the message limit whatever the ratio; ``max_ratio`` optionally fails a message whose
    inflated size exceeds that many times its compressed size (past the first 64 KiB),
    checked at every KiB of the compressed message, whatever the reads.

A peer may end a DEFLATE stream (BFINAL=1) inside a message (RFC 7692 section
7.2.3.4): the inflater is then restarted with the window it had, so context takeover
still holds; such restarts are limited to one per KiB of input so they cannot be used
to burn CPU: the k-th restart of a message needs k - 1 KiB of the message before the end
of its stream (a rule on the message's bytes, not on how they were read).
"""

from __future__ import annotations

import collections
import re
import zlib
from typing import Any, Iterable

from ._errors import HandshakeError, ProtocolError
from .handshake import _header_value, _split_list, build_extensions, parse_extensions

__all__ = [
    "EXTENSION_NAME",
    "DEFAULT_THRESHOLD",
    "RATIO_FLOOR",
    "BACKENDS",
    "available_backends",
    "PerMessageDeflate",
    "client_offer",
    "client_accept",
    "server_negotiate",
]

EXTENSION_NAME = "permessage-deflate"
#: Messages shorter than this many bytes are sent uncompressed by default.
DEFAULT_THRESHOLD = 128
#: ``max_ratio`` only applies once a message has inflated past this many bytes.
RATIO_FLOOR = 64 * 1024
#: Backend names, in the order ``backend="auto"`` tries them.
BACKENDS = ("zlib-ng", "isal", "zlib")

_TAIL = b"\x00\x00\xff\xff"
_WINDOW_RE = re.compile(r"8|9|1[0-5]")  # RFC 7692 7.1.2: no leading zeros
# At most this many bytes of input per DEFLATE stream restart (BFINAL inside a message).
_RESTART_COST = 1024
# The inflater's window, whatever the peer's agreed window (see "Window bits of the peer").
_INFLATE_BITS = 15
# max_ratio is checked at every this many bytes of a message's compressed payload.
_RATIO_GRAIN = 1024
# On the last piece of a message, payloads shorter than this are joined to the tail.
_JOIN_TAIL_BELOW = 4096


# ---------------------------------------------------------------------------------------
# Backends


class _Backend:
    __slots__ = ("name", "module", "error", "levels", "small_window")

    def __init__(self, name, module, error, levels, small_window):
        self.name = name
        self.module = module
        self.error = error  # the backend's exception class for corrupt data
        self.levels = levels  # maps a zlib level (0-9) to the backend's level
        self.small_window = small_window  # whether wbits=9 output fits a 2**8 window

    def compressobj(self, level, wbits, mem_level):
        mod = self.module
        return mod.compressobj(self.levels[level], mod.DEFLATED, -wbits, mem_level)

    def decompressobj(self, wbits, zdict=None):
        if zdict:
            return self.module.decompressobj(-wbits, zdict=zdict)
        return self.module.decompressobj(-wbits)


_ZLIB_LEVELS = tuple(range(10))
_ISAL_LEVELS = (0, 0, 1, 1, 1, 1, 1, 2, 2, 3)
_backends: dict[str, _Backend | None] = {}


def _load_backend(name: str) -> _Backend | None:
    if name in _backends:
        return _backends[name]
    backend = None
    if name == "zlib":
        backend = _Backend("zlib", zlib, zlib.error, _ZLIB_LEVELS, True)
    elif name == "zlib-ng":
        try:
            from zlib_ng import zlib_ng
        except ImportError:
            pass
        else:
            backend = _Backend("zlib-ng", zlib_ng, zlib_ng.error, _ZLIB_LEVELS, True)
    elif name == "isal":
        try:
            from isal import isal_zlib
        except ImportError:
            pass
        else:
            backend = _Backend("isal", isal_zlib, isal_zlib.error, _ISAL_LEVELS, False)
    else:
        raise ValueError("backend must be 'auto' or one of %s, not %r" % (BACKENDS, name))
    _backends[name] = backend
    return backend


def available_backends() -> list[str]:
    """The installed backends, in the order ``backend="auto"`` prefers them."""
    return [name for name in BACKENDS if _load_backend(name) is not None]


def _get_backend(name: str) -> _Backend:
    if name == "auto":
        for candidate in BACKENDS:
            backend = _load_backend(candidate)
            if backend is not None:
                return backend
    backend = _load_backend(name)
    if backend is None:
        package = {"zlib-ng": "zlib-ng", "isal": "isal"}[name]
        raise ImportError("backend %r is not installed (pip install %s)" % (name, package))
    return backend


# ---------------------------------------------------------------------------------------
# The extension object


# The keyword arguments of PerMessageDeflate that tune our side (not negotiated).
_LOCAL_OPTIONS = ("level", "mem_level", "threshold", "max_ratio", "backend")


def _check_local_options(func: str, options: dict[str, Any]) -> None:
    """A misspelt option fails at once, not only when a client happens to offer deflate."""
    for name in options:
        if name not in _LOCAL_OPTIONS:
            raise TypeError(
                "%s() got an unexpected keyword argument %r (the PerMessageDeflate options "
                "are %s)" % (func, name, ", ".join(_LOCAL_OPTIONS))
            )


def _check_window(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= 15:
        raise ValueError("%s must be an integer from 8 to 15, not %r" % (name, value))
    return value


class PerMessageDeflate:
    """The agreed permessage-deflate parameters of one connection and its two streams.

    ``role`` is our side. The four RFC 7692 parameters are the agreed ones (what
    :func:`client_accept` / :func:`server_negotiate` return already carries them).
    ``level`` (0-9, zlib's scale; -1 means 6) and ``mem_level`` (1-9) tune our
    compressor; ``threshold``: messages shorter than this are sent uncompressed;
    ``max_ratio``: fail (1009) a message that inflates to more than that many times its
    compressed size once past :data:`RATIO_FLOOR` bytes; ``backend``: "auto", "zlib",
    "zlib-ng" or "isal".

    The codec calls ``inflate``, ``should_compress`` and ``deflate``; ``rsv_bits`` says
    the extension owns RSV1.
    """

    rsv_bits = 0x40

    def __init__(
        self,
        role: str,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        level: int = 6,
        mem_level: int = 8,
        threshold: int = DEFAULT_THRESHOLD,
        max_ratio: float | None = None,
        backend: str = "auto",
    ) -> None:
        if role not in ("client", "server"):
            raise ValueError("role must be 'client' or 'server', not %r" % (role,))
        _check_window("server_max_window_bits", server_max_window_bits)
        _check_window("client_max_window_bits", client_max_window_bits)
        if isinstance(level, bool) or not isinstance(level, int) or not -1 <= level <= 9:
            raise ValueError("level must be an integer from -1 to 9, not %r" % (level,))
        if level == -1:
            level = 6  # Z_DEFAULT_COMPRESSION
        if isinstance(mem_level, bool) or not isinstance(mem_level, int) or not 1 <= mem_level <= 9:
            raise ValueError("mem_level must be an integer from 1 to 9, not %r" % (mem_level,))
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValueError("threshold must be a non-negative integer, not %r" % (threshold,))
        if max_ratio is not None:
            if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float)) or not max_ratio >= 1:
                raise ValueError("max_ratio must be None or a number >= 1, not %r" % (max_ratio,))
        self.role = role
        self.server_no_context_takeover = bool(server_no_context_takeover)
        self.client_no_context_takeover = bool(client_no_context_takeover)
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.level = level
        self.mem_level = mem_level
        self.threshold = threshold
        self.max_ratio = max_ratio
        chosen = _get_backend(backend)
        #: Name of the backend that inflates.
        self.backend = chosen.name
        if role == "client":
            local_bits, remote_bits = client_max_window_bits, server_max_window_bits
            self._local_reset = self.client_no_context_takeover
            self._remote_reset = self.server_no_context_takeover
        else:
            local_bits, remote_bits = server_max_window_bits, client_max_window_bits
            self._local_reset = self.server_no_context_takeover
            self._remote_reset = self.client_no_context_takeover
        self._inflate_backend = chosen
        deflate_backend = chosen
        if local_bits == 8:
            # See the module docstring: wbits=9 from zlib/zlib-ng fits a 256-byte window.
            local_bits = 9
            if not chosen.small_window:
                deflate_backend = _load_backend("zlib-ng") or _get_backend("zlib")
        self._deflate_backend = deflate_backend
        #: Name of the backend that deflates (differs from ``backend`` only for isal
        #: with a window of 8 on our side).
        self.deflate_backend = deflate_backend.name
        self._local_bits = local_bits
        # The peer's agreed window: what is kept of the inflated output to restart the
        # inflater after a BFINAL block (the inflater itself always has 15 bits).
        self._window = 1 << remote_bits
        self._inflater: Any = None
        self._deflater: Any = None
        # Inflated bytes kept to restart the inflater after a BFINAL block: the last
        # chunks of output, holding at least the window when there is that much.
        self._history: collections.deque[bytes] = collections.deque()
        self._history_size = 0
        self._msg_in = 0  # compressed bytes of the current incoming message
        self._msg_out = 0  # inflated bytes of the current incoming message
        self._msg_restarts = 0  # inflater restarts (BFINAL) in the current incoming message
        self._fresh = False  # the inflater was restarted after a BFINAL, fed nothing since
        # A thread inside inflate / deflate (one each: a reader and a writer thread may
        # use the two directions at once, never one direction from two threads).
        self._inflating = False
        self._deflating = False

    def __repr__(self) -> str:
        return (
            "PerMessageDeflate(%r, server_no_context_takeover=%r, "
            "client_no_context_takeover=%r, server_max_window_bits=%d, "
            "client_max_window_bits=%d, level=%d, threshold=%d, max_ratio=%r, backend=%r)"
            % (
                self.role,
                self.server_no_context_takeover,
                self.client_no_context_takeover,
                self.server_max_window_bits,
                self.client_max_window_bits,
                self.level,
                self.threshold,
                self.max_ratio,
                self.backend,
            )
        )

    # -- incoming ---------------------------------------------------------------------

    def inflate(self, data: bytes, fin: bool, max_out: int | None) -> bytes:
        """(See _inflate.) RuntimeError if another thread is inflating on this object."""
        busy = self._inflating
        self._inflating = True  # (no call since the test: no thread switch with a GIL)
        if busy:
            raise RuntimeError(
                "PerMessageDeflate's decompression context used from two threads at once"
            )
        try:
            return self._inflate(data, fin, max_out)
        finally:
            self._inflating = False

    def _inflate(self, data: bytes, fin: bool, max_out: int | None) -> bytes:
        """Inflate the next piece of the current compressed message's payload.

        ``fin`` marks the message's last piece (the ``00 00 ff ff`` tail is appended and,
        without the peer's context takeover, the inflater dropped). Returns what that
        produced, at most ``max_out + 1`` bytes: exactly ``max_out + 1`` means the
        message is over its limit, and the inflater stopped there. Raises the backend's
        error (``zlib.error`` for zlib) or ``ValueError`` on corrupt data, and
        ``ProtocolError(1009)`` past ``max_ratio``.
        """
        d = self._inflater
        if d is None:
            d = self._inflater = self._inflate_backend.decompressobj(_INFLATE_BITS)
        size = len(data)
        # Offset in the message (its payload, then the tail) of the end of the input fed
        # so far: a restart is judged by where its stream ends, not by how much has
        # arrived, so the decision does not depend on how the message was read.
        start = end = self._msg_in
        self._msg_in += size
        cap = (max(max_out, 0) if max_out is not None else 1 << 62) + 1
        # (input, output limit for the call's output so far, whether that limit is the
        # ratio's, whether the input ends with the tail)
        if self.max_ratio is None:
            if not fin:
                inputs: list = [(data, cap, False, False)]
            elif size < _JOIN_TAIL_BELOW:
                # One call instead of two: copying a small payload is cheaper.
                inputs = [(b"".join((data, _TAIL)), cap, False, True)]
            else:
                inputs = [(data, cap, False, False), (_TAIL, cap, False, False)]
        else:
            inputs = self._ratio_slices(data, start, fin, cap)
        pieces = []
        produced = 0
        hit = None  # the input whose output limit was reached
        try:
            for item in inputs:
                buf, limit, _, joined = item
                if buf is _TAIL and self._fresh:
                    # The stream ended (BFINAL) exactly at the end of the message: it is
                    # complete, and the tail would start a stored block never finished.
                    break
                end += len(buf)
                while buf:
                    self._fresh = False
                    out = d.decompress(buf, limit - produced)
                    if out:
                        pieces.append(out)
                        produced += len(out)
                        self._remember(out)
                        if produced >= limit:
                            break
                    if not d.eof:
                        break  # all input consumed (the output was not full)
                    # A BFINAL block ended the DEFLATE stream inside the message: go on
                    # with a new stream that sees the same window (RFC 7692 7.2.3.4).
                    # The k-th restart of a message needs (k - 1) KiB of the message
                    # before the end of its stream.
                    buf = d.unused_data
                    if self._msg_restarts > (end - len(buf)) // _RESTART_COST:
                        raise ValueError("too many DEFLATE stream ends (BFINAL) in a message")
                    self._msg_restarts += 1
                    history = b"".join(self._history)[-self._window :]
                    d = self._inflater = self._inflate_backend.decompressobj(
                        _INFLATE_BITS, history
                    )
                    self._fresh = True
                    if joined and len(buf) == len(_TAIL):
                        # As above, with the tail joined to the payload: what is left is
                        # the tail itself (payload bytes after the stream end are fed on,
                        # as they are when the tail comes separately).
                        break
                if produced >= limit:
                    hit = item
                    break
        except self._inflate_backend.error as exc:
            self._inflater = None
            self._fresh = False
            if isinstance(exc, zlib.error):
                raise
            raise zlib.error(str(exc)) from exc
        self._msg_out += produced
        if hit is not None:
            if hit[2] and (max_out is None or produced <= max_out):
                raise ProtocolError(
                    1009,
                    "compressed message inflates more than %g times its size"
                    % (self.max_ratio or 0),
                )
            # Over the codec's limit: the connection fails, the streams are spent.
            self._inflater = None
            self._fresh = False
            self._clear_history()
        if fin:
            self._msg_in = self._msg_out = self._msg_restarts = 0
            if self._remote_reset:
                self._inflater = None
                self._fresh = False
                self._clear_history()
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def _ratio_slices(self, data, start: int, fin: bool, cap: int) -> list:
        """``inflate``'s inputs under ``max_ratio``: ``data`` (at ``start`` in the
        message) cut where the message offset is a multiple of _RATIO_GRAIN, each piece
        allowed the output of the grain boundary at or after its end.

        The output inflated from the first x compressed bytes is limited to
        ``max(max_ratio * ceil(x / grain) * grain, RATIO_FLOOR)`` at the end of every read
        and at every grain boundary; since every reading of the message cuts it at the
        same boundaries, a message fails the ratio in one reading exactly when it does
        in every other (a limit computed on the bytes received so far would fail a
        message whose first bytes inflate far more than its last ones only when those
        come in a later read).
        """
        ratio = self.max_ratio
        base = self._msg_out
        grain = _RATIO_GRAIN
        stop = start + len(data)
        inputs = []

        def limits(boundary):
            allowed = max(int(ratio * boundary), RATIO_FLOOR) - base
            if allowed + 1 < cap:
                return allowed + 1, True
            return cap, False

        pos = start
        while pos < stop:
            boundary = (pos // grain + 1) * grain
            cut = min(boundary, stop)
            piece = data[pos - start : cut - start]
            if fin and cut == stop:
                piece = b"".join((piece, _TAIL))
            limit, by_ratio = limits(-(-cut // grain) * grain)
            inputs.append((piece, limit, by_ratio, fin and cut == stop))
            pos = cut
        if fin and not inputs:
            limit, by_ratio = limits(-(-stop // grain) * grain)
            inputs.append((_TAIL, limit, by_ratio, True))
        return inputs

    def _remember(self, out: bytes) -> None:
        window = self._window
        history = self._history
        if len(out) >= window:
            history.clear()
            history.append(out[-window:])
            self._history_size = window
            return
        history.append(out)
        self._history_size += len(out)
        while self._history_size - len(history[0]) >= window:
            self._history_size -= len(history.popleft())

    def _clear_history(self) -> None:
        self._history.clear()
        self._history_size = 0

    # -- outgoing ---------------------------------------------------------------------

    def should_compress(self, size: int) -> bool:
        """Whether a message of ``size`` bytes is worth compressing (``>= threshold``)."""
        return size >= self.threshold

    def deflate(self, data: bytes, fin: bool) -> bytes:
        """(See _deflate.) RuntimeError if another thread is deflating on this object."""
        busy = self._deflating
        self._deflating = True
        if busy:
            raise RuntimeError(
                "PerMessageDeflate's compression context used from two threads at once"
            )
        try:
            return self._deflate(data, fin)
        finally:
            self._deflating = False

    def _deflate(self, data: bytes, fin: bool) -> bytes:
        """Compress the next fragment of an outgoing compressed message.

        Each fragment is flushed (Z_SYNC_FLUSH) so the peer can inflate it on arrival;
        on the last (``fin``) the ``00 00 ff ff`` tail of the flush is removed (RFC 7692
        section 7.2.1) and, without our context takeover, the compressor is dropped.
        """
        c = self._deflater
        if c is None:
            c = self._deflater = self._deflate_backend.compressobj(
                self.level, self._local_bits, self.mem_level
            )
        out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            if self._local_reset:
                self._deflater = None
            if out.endswith(_TAIL):
                return out[:-4]
            # Nothing was pending: zlib emits no second flush. The stream is at a byte
            # boundary, so the header byte of an empty stored block (completed by the
            # tail the receiver appends) ends the message correctly.
            return out + b"\x00"
        return out

    def reset(self) -> None:
        """Drop both compression contexts (and any message in progress)."""
        self._inflater = None
        self._deflater = None
        self._fresh = False
        self._clear_history()
        self._msg_in = self._msg_out = self._msg_restarts = 0


# ---------------------------------------------------------------------------------------
# Negotiation


class _Params:
    __slots__ = (
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    )

    def __init__(self) -> None:
        self.server_no_context_takeover = False
        self.client_no_context_takeover = False
        self.server_max_window_bits: int | None = None
        # None: absent; True: present without a value (offers only); int: the value.
        self.client_max_window_bits: int | bool | None = None


def _parse_params(params: list[tuple[str, str | None]], is_offer: bool) -> _Params:
    """Validate one permessage-deflate element; ValueError names the bad parameter."""
    result = _Params()
    seen = set()
    for name, value in params:
        if name in seen:
            raise ValueError("duplicate parameter %s" % name)
        seen.add(name)
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise ValueError("%s takes no value, got %r" % (name, value))
            setattr(result, name, True)
        elif name == "server_max_window_bits":
            if value is None or not _WINDOW_RE.fullmatch(value):
                raise ValueError("%s must be 8 to 15, got %r" % (name, value))
            result.server_max_window_bits = int(value)
        elif name == "client_max_window_bits":
            if value is None:
                if not is_offer:
                    raise ValueError("%s needs a value in a response" % name)
                result.client_max_window_bits = True
            elif not _WINDOW_RE.fullmatch(value):
                raise ValueError("%s must be 8 to 15, got %r" % (name, value))
            else:
                result.client_max_window_bits = int(value)
        else:
            raise ValueError("unknown parameter %s" % name)
    return result


def client_offer(
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: int | None = None,
    client_max_window_bits: int | bool | None = True,
) -> str:
    """The ``Sec-WebSocket-Extensions`` value offering permessage-deflate.

    ``client_max_window_bits=True`` offers the parameter without a value (we can
    compress with any window the server picks); an int 8-15 offers it with that value;
    False or None leaves it out.
    """
    params: list[tuple[str, str | None]] = []
    if server_no_context_takeover:
        params.append(("server_no_context_takeover", None))
    if client_no_context_takeover:
        params.append(("client_no_context_takeover", None))
    if server_max_window_bits is not None:
        _check_window("server_max_window_bits", server_max_window_bits)
        params.append(("server_max_window_bits", str(server_max_window_bits)))
    if client_max_window_bits is True:
        params.append(("client_max_window_bits", None))
    elif client_max_window_bits is not None and client_max_window_bits is not False:
        _check_window("client_max_window_bits", client_max_window_bits)
        params.append(("client_max_window_bits", str(client_max_window_bits)))
    return build_extensions([(EXTENSION_NAME, params)])


def _fail_1010(reason: str) -> ProtocolError:
    reason = "permessage-deflate: " + reason
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        reason = encoded[:120].decode("utf-8", "ignore") + "..."
    return ProtocolError(1010, reason)


def _client_agree(offer: _Params, response: _Params) -> dict[str, Any]:
    """The agreed parameters for a response to one of our offers (RFC 7692 7.1)."""
    # 7.1.1.1: an offered server_no_context_takeover must be in the response.
    if offer.server_no_context_takeover and not response.server_no_context_takeover:
        raise ValueError("server_no_context_takeover was offered but the response lacks it")
    # 7.1.2.1: an offered server_max_window_bits must be answered with at most its value.
    smwb = response.server_max_window_bits
    if offer.server_max_window_bits is not None:
        if smwb is None:
            raise ValueError("server_max_window_bits was offered but the response lacks it")
        if smwb > offer.server_max_window_bits:
            raise ValueError(
                "server_max_window_bits=%d is larger than the %d offered"
                % (smwb, offer.server_max_window_bits)
            )
    # 7.1.2.2: client_max_window_bits only if offered, at most the offered value.
    cmwb = response.client_max_window_bits
    if offer.client_max_window_bits is None:
        if cmwb is not None:
            raise ValueError("client_max_window_bits in the response was not offered")
    elif cmwb is None:
        if offer.client_max_window_bits is not True:
            cmwb = offer.client_max_window_bits  # we said we would use at most this
    elif offer.client_max_window_bits is not True and cmwb > offer.client_max_window_bits:
        raise ValueError(
            "client_max_window_bits=%d is larger than the %d offered"
            % (cmwb, offer.client_max_window_bits)
        )
    return {
        "server_no_context_takeover": response.server_no_context_takeover,
        # 7.1.1.2: offered, it is a promise we keep whether or not the server echoes it.
        "client_no_context_takeover": offer.client_no_context_takeover
        or response.client_no_context_takeover,
        "server_max_window_bits": smwb if smwb is not None else 15,
        "client_max_window_bits": cmwb if cmwb is not None else 15,
    }


def client_accept(
    offer: str | Iterable[str], response: str | Iterable[str] | None, **local_options: Any
) -> PerMessageDeflate | None:
    """Check the server's ``Sec-WebSocket-Extensions`` against our offer.

    ``offer`` is the value we sent (one or several permessage-deflate offers, maybe other
    extensions), ``response`` the value the server sent (None when absent). Returns the
    connection's :class:`PerMessageDeflate` (built with ``local_options``: level,
    mem_level, threshold, max_ratio, backend), or None when the server accepted no
    permessage-deflate. A response the client must fail the connection for (RFC 7692
    section 5.1 and 7.1) raises ``ProtocolError(1010, reason)``: bad syntax, an
    extension we did not offer, permessage-deflate twice, an unknown or duplicate
    parameter, a bad value, or a configuration that contradicts the offer.
    """
    _check_local_options("client_accept", local_options)
    offer = _header_value(offer, "client_accept", "Sec-WebSocket-Extensions (offer)")
    if response is not None:
        response = _header_value(response, "client_accept", "Sec-WebSocket-Extensions")
    offered = parse_extensions(offer)
    offers = [params for name, params in offered if name.lower() == EXTENSION_NAME]
    offered_names = {name.lower() for name, _ in offered}
    if response is None or not response.strip(" \t,"):
        return None
    try:
        accepted = parse_extensions(response)
    except HandshakeError as exc:
        raise _fail_1010("malformed Sec-WebSocket-Extensions response: %s" % exc) from None
    elements = []
    for name, params in accepted:
        lname = name.lower()
        if lname not in offered_names:
            raise _fail_1010("the server accepted extension %s, which was not offered" % name)
        if lname == EXTENSION_NAME:
            elements.append(params)
    if not elements:
        return None
    if len(elements) > 1:
        raise _fail_1010("the server accepted permessage-deflate more than once")
    try:
        agreed_response = _parse_params(elements[0], is_offer=False)
    except ValueError as exc:
        raise _fail_1010(str(exc)) from None
    first_error: ValueError | None = None
    for params in offers:
        try:
            agreed = _client_agree(_parse_params(params, is_offer=True), agreed_response)
        except ValueError as exc:
            if first_error is None:
                first_error = exc
            continue
        return PerMessageDeflate("client", **agreed, **local_options)
    assert first_error is not None
    raise _fail_1010(str(first_error))


def server_negotiate(
    request: str | Iterable[str] | None,
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: int | None = None,
    client_max_window_bits: int | None = None,
    **local_options: Any,
) -> tuple[PerMessageDeflate | None, str | None]:
    """Pick the first acceptable permessage-deflate offer of the client's header.

    ``request`` is the client's ``Sec-WebSocket-Extensions`` value: a str, a list of the
    values of a repeated header, or None when absent.
    The keyword arguments are our wishes: ``server_no_context_takeover`` (we reset our
    compressor per message), ``client_no_context_takeover`` (we ask the client to),
    ``server_max_window_bits`` (our compressor's window, at most), and
    ``client_max_window_bits`` (the client's window we want, applied when the client
    offered the parameter; a client that did not cannot be limited, and is accepted
    with a window of 15). ``local_options`` go to :class:`PerMessageDeflate`.

    Returns ``(pmd, value for Sec-WebSocket-Extensions)`` or ``(None, None)``. A
    malformed offer (bad syntax, unknown or duplicate parameter, bad value) is declined,
    not fatal (RFC 7692 section 5), and the next one is considered.
    """
    _check_local_options("server_negotiate", local_options)
    if server_max_window_bits is not None:
        _check_window("server_max_window_bits", server_max_window_bits)
    if client_max_window_bits is not None:
        _check_window("client_max_window_bits", client_max_window_bits)
    if request is None:
        return None, None
    request = _header_value(request, "server_negotiate", "Sec-WebSocket-Extensions")
    if not request:
        return None, None
    for element in _split_list(request):  # commas inside quotes kept
        try:
            parsed = parse_extensions(element)
        except HandshakeError:
            continue  # malformed element: declined
        name, params = parsed[0]
        if name.lower() != EXTENSION_NAME:
            continue
        try:
            offer = _parse_params(params, is_offer=True)
        except ValueError:
            continue  # RFC 7692 section 5: decline an offer with a bad parameter
        # Our compressor: the client's limit and ours, whichever is smaller.
        snct = offer.server_no_context_takeover or server_no_context_takeover
        cnct = offer.client_no_context_takeover or client_no_context_takeover
        smwb = offer.server_max_window_bits
        if server_max_window_bits is not None:
            smwb = server_max_window_bits if smwb is None else min(smwb, server_max_window_bits)
        cmwb: int | None = None
        if offer.client_max_window_bits is True:
            cmwb = client_max_window_bits
        elif offer.client_max_window_bits is not None:
            cmwb = offer.client_max_window_bits
            if client_max_window_bits is not None:
                cmwb = min(cmwb, client_max_window_bits)
        response: list[tuple[str, str | None]] = []
        if snct:
            response.append(("server_no_context_takeover", None))
        if cnct:
            response.append(("client_no_context_takeover", None))
        if smwb is not None:
            response.append(("server_max_window_bits", str(smwb)))
        if cmwb is not None:
            response.append(("client_max_window_bits", str(cmwb)))
        pmd = PerMessageDeflate(
            "server",
            server_no_context_takeover=snct,
            client_no_context_takeover=cnct,
            server_max_window_bits=smwb if smwb is not None else 15,
            client_max_window_bits=cmwb if cmwb is not None else 15,
            **local_options,
        )
        return pmd, build_extensions([(EXTENSION_NAME, response)])
    return None, None
