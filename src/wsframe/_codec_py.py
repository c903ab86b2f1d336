"""The WebSocket protocol, written once (RFC 6455, with RFC 7692's hooks).

Every protocol decision lives here: which input is an error, which close code it gets,
which limit applies. Interpreted, this module is the pure-Python implementation. The
build also compiles this very file with Cython as ``wsframe._codec_c`` (the static types
are in ``_codec_c.pxd``); compiled, it calls the C primitives of ``_primitives.pyx``
directly instead of ``_primitives_py``.
"""

try:
    import cython
except ImportError:  # interpreted, and Cython is not installed: nothing is compiled
    from . import _nocython as cython

from operator import index as _index

from . import _args
from ._errors import Opcode, ProtocolError
# (_MASK, _REP and _SMALL: for the interpreted fast path of FrameDecoder._process)
from ._primitives_py import _MASK, _REP, _SMALL, utf8_error_offset

if not cython.compiled:  # the compiled module cimports these from _primitives (see .pxd)
    from ._primitives_py import (
        Utf8Validator,
        decode_valid_text,
        encode_ascii_frame,
        encode_frame,
        frame_header,
        frame_payload,
        frame_text,
        load_key,
        unmask,
        unmask_text,
    )

__all__ = [
    "Frame",
    "Close",
    "FrameHeader",
    "FrameDecoder",
    "FrameEncoder",
    "parse_header",
    "encode_header",
    "parse_close",
    "build_close",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FRAGMENT_COST",
]

# 1 MiB, as websockets: large enough for chat and RPC traffic, small enough that a
# thousand idle-but-hostile connections cannot take a gigabyte. Raise it per decoder.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
# Bytes charged to a message for each continuation frame on top of its payload, so a
# flood of empty fragments runs into max_message_size instead of running forever.
FRAGMENT_COST = 16
# Payload chunks shorter than this are appended to the previous part of the message while
# that part is under _COALESCE_PART bytes (see _data_chunk); larger ones are kept as is.
_COALESCE_BELOW = 4096
_COALESCE_PART = 65536

_OPCODE_NAMES = {int(op): op for op in Opcode}
# Index by the 4-bit opcode; None marks the reserved opcodes 0x3-0x7 and 0xB-0xF.
_OPCODES = tuple(_OPCODE_NAMES.get(i) for i in range(16))
_OP_CONT = 0
_OP_TEXT = 1
_OP_BINARY = 2
_OP_CLOSE = 8

_ROLES = ("server", "client")


def _valid_close_code(code):
    """Codes a peer may send (RFC 6455 7.4 and the IANA registry)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _fail_utf8(exc, base):
    """ProtocolError 1007 for a UnicodeDecodeError of a whole text (``base``: bytes before it)."""
    if exc.reason == "unexpected end of data":
        return ProtocolError(1007, "text ends inside a UTF-8 sequence")
    return ProtocolError(
        1007, "invalid UTF-8 at byte %d of the text" % (base + utf8_error_offset(exc))
    )


# Compiled, events are read-only and hold only ints, str and bytes: no reference cycle can
# go through one, so they stay out of the cyclic GC (which otherwise costs more than the
# decoding of small frames) and are recycled through a free list.
@cython.no_gc
@cython.freelist(64)
@cython.cclass
class Frame:
    """Frame(opcode, data, fin=True, rsv1=False)
--

A decoder event: a whole message (``assemble=True``), one data frame
    (``assemble=False``), or a ping/pong control frame.

    ``data`` is ``str`` for a text message decoded with ``text="str"``, else ``bytes``.
    """

    __slots__ = ("opcode", "data", "fin", "rsv1")

    def __init__(self, opcode, data, fin=True, rsv1=False):
        self.opcode = opcode
        self.data = data
        self.fin = fin
        self.rsv1 = rsv1

    def __repr__(self):
        data = self.data
        shown = repr(data[:40]) + ("..." if len(data) > 40 else "")
        return "%s(%s, %s, fin=%r, rsv1=%r)" % (
            type(self).__name__,
            Opcode(self.opcode).name,
            shown,
            self.fin,
            self.rsv1,
        )

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def _key(self):
        return (self.opcode, self.data, self.fin, self.rsv1)


@cython.no_gc
@cython.cclass
class Close(Frame):
    """Close(code=None, reason='', data=b'')
--

A close frame: ``code`` is None when the payload was empty."""

    __slots__ = ("code", "reason")

    def __init__(self, code=None, reason="", data=b""):
        if not cython.compiled and reason is not None and not isinstance(reason, str):
            raise TypeError("reason must be str, not %s" % type(reason).__name__)
        self.opcode = Opcode.CLOSE
        self.data = data
        self.fin = True
        self.rsv1 = False
        self.code = code
        self.reason = reason

    def __repr__(self):
        return "Close(code=%r, reason=%r)" % (self.code, self.reason)

    def _key(self):
        return (self.opcode, self.data, self.code, self.reason)


def _new_frame(opcode, data, fin, rsv1):
    # Skips __init__'s argument parsing: this runs once per event on the hot path.
    frame = Frame.__new__(Frame)
    frame.opcode = _OPCODES[opcode]
    frame.data = data
    frame.fin = fin
    frame.rsv1 = rsv1
    return frame


def parse_close(payload):
    """``(code, reason)`` of a close frame's payload; ProtocolError if it is invalid.

    An empty payload gives ``(None, "")``.
    """
    if type(payload) is not bytes:
        payload = _args.to_bytes(payload, "parse_close()")
    n = len(payload)
    if n == 0:
        return None, ""
    if n == 1:
        raise ProtocolError(1002, "close frame payload of 1 byte: a code needs 2")
    if n > 125:
        raise ProtocolError(1002, "close frame payload of %d bytes exceeds 125" % n)
    code = (payload[0] << 8) | payload[1]
    if not _valid_close_code(code):
        raise ProtocolError(1002, "close code %d may not be sent by a peer" % code)
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail_utf8(exc, 0) from None
    return code, reason


def build_close(code=None, reason=""):
    """The payload of a close frame; ValueError for a code or reason that may not be sent."""
    _args.close_reason(reason)
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    code = _args.close_code(code)
    if not _valid_close_code(code):
        raise ValueError("close code %d may not be sent (RFC 6455 7.4)" % code)
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError("close reason of %d bytes exceeds 123" % len(data))
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + data


# Compiled, a C struct (read-only fields, no cyclic GC: ints, bools and bytes only).
@cython.no_gc
@cython.cclass
class FrameHeader:
    """FrameHeader(fin, rsv, opcode, masked, key, length, size)
--

A parsed frame header (``parse_header``)."""

    __slots__ = ("fin", "rsv", "opcode", "masked", "key", "length", "size")

    def __init__(self, fin, rsv, opcode, masked, key, length, size):
        # What the compiled struct's C fields take (ints, not floats); compiled, an int's
        # range is checked by the C conversion itself.
        if not cython.compiled or not (
            type(rsv) is int and type(opcode) is int and type(length) is int and type(size) is int
        ):
            rsv = _args.c_integer(rsv, "rsv", -(1 << 31), (1 << 31) - 1)
            opcode = _args.c_integer(opcode, "opcode", -(1 << 31), (1 << 31) - 1)
            length = _args.c_integer(length, "length", 0, (1 << 64) - 1)
            size = _args.c_integer(size, "size", -(1 << 31), (1 << 31) - 1)
        self.fin = fin  #: FIN bit
        self.rsv = rsv  #: the three RSV bits as 0..7 (RSV1 = 4)
        self.opcode = opcode  #: int opcode (may be reserved: parse_header reports)
        self.masked = masked
        self.key = key  #: 4-byte masking key, or None
        self.length = length  #: payload length
        self.size = size  #: header length in bytes (2..14)

    def __repr__(self):
        return "FrameHeader(%s)" % ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self.__slots__
        )

    def __eq__(self, other):
        if not isinstance(other, FrameHeader):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None


def parse_header(buf, offset=0):
    """Parse the frame header at ``buf[offset:]``; None if more bytes are needed.

    Only the length encoding is checked here (most significant bit of a 64-bit length:
    1002; a length not in its shortest form: 1002); the decoder applies the other rules.
    """
    # Of any other buffer than bytes, only the header's bytes (at most 14) are copied, not
    # the whole buffer: a caller walking a large bytearray frame by frame must not pay for
    # its size each time.
    if not cython.compiled:  # (compiled: a Py_ssize_t, which Cython checks)
        offset = _args.c_integer(offset, "offset")
    kind = type(buf)
    if kind is bytes or kind is bytearray:
        end = len(buf)
        if offset < 0 or offset > end:
            raise ValueError("offset %d outside a buffer of %d bytes" % (offset, end))
        if kind is bytes:
            data = buf
            pos = offset
        else:
            data = bytes(buf[offset : offset + 14])
            pos = 0
    else:
        with _args.byte_view(buf, "parse_header()") as view:
            end = len(view)
            if offset < 0 or offset > end:
                raise ValueError("offset %d outside a buffer of %d bytes" % (offset, end))
            data = view[offset : offset + 14].tobytes()
        pos = 0
    end = len(data)
    if end - pos < 2:
        return None
    b0 = data[pos]
    b1 = data[pos + 1]
    size = _header_size(b1)
    if end - pos < size:
        return None
    length = _read_length(data, pos, b1)
    _check_length(data, pos, b1, length, False)
    key = data[pos + size - 4 : pos + size] if b1 & 0x80 else None
    return FrameHeader(
        bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, bool(b1 & 0x80), key, length, size
    )


_SSIZE_MAX = (1 << 63) - 1  # (the largest length _args.c_integer accepts)


def encode_header(opcode, length, *, fin=True, rsv=0, mask=None):
    """A frame header for a payload of ``length`` bytes (shortest length form)."""
    # The usual call (ints in range, no key or a 4-byte bytes key) is checked inline: a
    # call into _args per argument cost more than the header itself. Anything else takes
    # the checks below in their order, so it raises what it always raised.
    if type(opcode) is not int and isinstance(opcode, int):
        # An IntEnum member such as Opcode.TEXT: operator.index gives its exact int
        # without calling anything the subclass overrides (what _args.c_integer takes).
        opcode = _index(opcode)
    if (
        type(opcode) is int
        and type(rsv) is int
        and type(length) is int
        and 0 <= opcode <= 15
        and 0 <= rsv <= 7
        and 0 <= length <= _SSIZE_MAX
    ):
        op = opcode
    else:
        op = _args.c_integer(opcode, "opcode")
        rsv = _args.c_integer(rsv, "rsv")
        length = _args.c_integer(length, "length")
        if not 0 <= op <= 15 or not 0 <= rsv <= 7:
            raise ValueError("opcode must be 0..15 and rsv 0..7")
        if length < 0:
            raise ValueError("payload length %r out of range" % (length,))
    key = None
    if mask is not None:
        if type(mask) is bytes and len(mask) == 4:
            key = mask
        else:
            key = _args.mask_key(mask, "encode_header()")
    return frame_header((0x80 if fin else 0) | (rsv << 4) | op, length, key)


def _header_size(b1):
    """Header length implied by the second byte."""
    size = 2
    n = b1 & 0x7F
    if n == 126:
        size = 4
    elif n == 127:
        size = 10
    if b1 & 0x80:
        size += 4
    return size


def _read_length(data, pos, b1):
    n = b1 & 0x7F
    if n < 126:
        return n
    if n == 126:
        return (data[pos + 2] << 8) | data[pos + 3]
    length = 0
    for i in range(pos + 2, pos + 10):
        length = (length << 8) | data[i]
    return length


def _check_length(data, pos, b1, length, allow_nonminimal):
    """RFC 6455 5.2: MSB of a 64-bit length must be 0; the length uses its shortest form."""
    n = b1 & 0x7F
    if n == 127 and data[pos + 2] & 0x80:
        raise ProtocolError(1002, "64-bit payload length with its most significant bit set")
    if allow_nonminimal:
        return
    if (n == 126 and length < 126) or (n == 127 and length < 65536):
        raise ProtocolError(
            1002, "payload length %d not encoded in its shortest form" % length
        )


class FrameDecoder:
    """FrameDecoder(role='server', *, max_message_size=1048576, max_frame_size=None, assemble=True, text='str', extensions=(), allow_any_masking=False, allow_nonminimal_length=False, allow_any_close_code=False)
--

Bytes in, events out. Sans-IO: call ``feed`` with whatever the socket gave.

    ``role`` is the side this decoder runs on: a "server" decodes a client's (masked)
    frames. Strict by default; each leniency is a named switch, off by default:

    - ``allow_any_masking``: accept unmasked frames to a server and masked ones to a client.
    - ``allow_nonminimal_length``: accept lengths not in their shortest encoding.
    - ``allow_any_close_code``: accept any close code from 1000 to 4999.
    """

    __slots__ = (
        "role", "max_message_size", "max_frame_size", "_assemble", "_text_str",
        "_mask_expected", "_mask_any", "_nonminimal_ok", "_any_close_code", "_compressor",
        "_rsv_allowed", "_error", "_closed", "_head", "_b0", "_key", "_length", "_remaining",
        "_ctrl", "_msg_opcode", "_msg_compressed", "_msg_cost", "_parts", "_validator",
        "_busy",
    )  # fmt: skip

    def __init__(
        self,
        role="server",
        *,
        max_message_size=DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size=None,
        assemble=True,
        text="str",
        extensions=(),
        allow_any_masking=False,
        allow_nonminimal_length=False,
        allow_any_close_code=False,
    ):
        if role not in _ROLES:
            raise ValueError("role must be 'server' or 'client', not %r" % (role,))
        if text not in ("str", "bytes"):
            raise ValueError("text must be 'str' or 'bytes', not %r" % (text,))
        max_message_size = _args.size_limit(max_message_size, "max_message_size", False)
        max_frame_size = _args.size_limit(max_frame_size, "max_frame_size", True)
        if max_frame_size is None:
            max_frame_size = max_message_size
        self._busy = False
        self.role = role
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self._assemble = bool(assemble)
        self._text_str = text == "str"
        self._mask_expected = 0x80 if role == "server" else 0
        self._mask_any = bool(allow_any_masking)
        self._nonminimal_ok = bool(allow_nonminimal_length)
        self._any_close_code = bool(allow_any_close_code)
        self._compressor = None
        self._rsv_allowed = 0
        for ext in _extension_list(extensions):
            bits = int(ext.rsv_bits)
            if bits & ~0x70 or bits & self._rsv_allowed:
                raise ValueError("extension %r claims RSV bits %#x already owned" % (ext, bits))
            self._rsv_allowed |= bits
            if bits & 0x40:
                self._compressor = ext
        self._error = None
        self._closed = False
        self._head = b""  # the start of a header split across feeds (< 14 bytes)
        # The frame being received.
        self._b0 = 0
        self._key = 0
        self._length = 0
        self._remaining = 0
        self._ctrl = bytearray()
        # The message being received.
        self._msg_opcode = 0
        self._msg_compressed = False
        self._msg_cost = 0  # what max_message_size is checked against
        self._parts = []
        self._validator = None

    @property
    def closed(self):
        """True once a close frame was received: any further frame is an error."""
        return self._closed

    def feed(self, data):
        """Decode the next bytes; return the events they completed.

        On a ProtocolError the events completed before the error in the same call are in
        the exception's ``events`` attribute; the decoder then stays failed.
        """
        if type(data) is not bytes:
            data = _args.to_bytes(data, "feed()")
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameDecoder")
        else:  # (test and set with no call in between: no thread switch on a GIL build)
            if self._busy:
                raise _args.two_threads("FrameDecoder")
            self._busy = True
        try:
            if self._error is not None:
                exc = ProtocolError(self._error.code, self._error.reason)
                exc.events = []
                exc.replay = True
                raise exc
            events = []
            try:
                self._process(data, events)
            except ProtocolError as exc:
                self._error = exc
                exc.events = events
                raise
            return events
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def _enter(self):
        """Mark the decoder busy; RuntimeError if another thread is inside it. Compiled,
        an atomic exchange on a free-threaded build (see _primitives.pxd); the hot paths
        have it inline, and every one clears the flag in a ``finally``."""
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameDecoder")
        else:  # (test and set with no call in between: no thread switch on a GIL build)
            if self._busy:
                raise _args.two_threads("FrameDecoder")
            self._busy = True
        return 0

    def _process(self, data, events):
        end = len(data)
        pos = 0
        if self._head:
            # Finish a split header from at most 14 new bytes; never rescan the chunk.
            head = self._head + data[:14]
            size = self._start_frame(head, 0, len(head), events)
            if size == 0:
                self._head = head
                return
            pos = size - len(self._head)
            self._head = b""
        fast = self._assemble
        text_fast = self._text_str
        mask_expected = self._mask_expected
        limit = min(self.max_frame_size, self.max_message_size)
        op_text = _OPCODES[_OP_TEXT]
        op_binary = _OPCODES[_OP_BINARY]
        head_size = 6 if mask_expected else 2  # what a frame masked as expected has
        last = end - 1  # a header needs two bytes: pos < last
        # Interpreted, the frame constructor and list.append are bound once (an attribute
        # lookup less per frame), and a small masked text frame is unmasked and decoded
        # inline (a Python call less per frame: about 7% of the time of a 32-byte frame).
        # Compiled, `interpreted` is a constant 0: frame_text and the rest are C calls.
        interpreted = not cython.compiled
        if interpreted:
            new_frame = Frame.__new__
            append = events.append
            from_bytes = int.from_bytes
            rep = _REP
            bits = _MASK
            small = _SMALL
        while pos < end:
            remaining = self._remaining
            if remaining:
                stop = pos + remaining if end - pos > remaining else end
                self._consume(data, pos, stop, events)
                pos = stop
                continue
            # The fast path: unfragmented text or binary messages with no RSV bit, masked
            # as the role requires, 7- or 16-bit length, wholly in this chunk. Such a frame
            # passes every rule of _start_frame but the size limits, checked here; the
            # first frame that is anything else leaves for the general path below. (Only
            # the general path changes _msg_opcode and _closed: read once per run.)
            if fast and not self._msg_opcode and not self._closed:
                while pos < last:
                    b0 = data[pos]
                    if not (b0 == 0x82 or b0 == 0x81 and text_fast):
                        break
                    b1 = data[pos + 1]
                    if (b1 & 0x80) != mask_expected:
                        break
                    length = b1 & 0x7F
                    start = pos + head_size
                    if length >= 126:
                        if length == 127 or pos + 4 > end:
                            break
                        length = (data[pos + 2] << 8) | data[pos + 3]
                        if length < 126:  # not minimal: the general path says so
                            break
                        start += 2
                    stop = start + length
                    if stop > end or length > limit:
                        break
                    pos = stop
                    if b0 == 0x82:
                        payload = frame_payload(data, start, pos, mask_expected)
                        opcode = op_binary
                    else:
                        try:
                            if interpreted and mask_expected and 0 < length <= small:
                                # frame_text, inline: the key and the payload read as one
                                # int (the key in its low 32 bits), XOR the key repeated
                                v = from_bytes(data[start - 4 : stop], "little")
                                v = ((v >> 32) ^ (v & 0xFFFFFFFF) * rep[length]) & bits[length]
                                payload = v.to_bytes(length, "little").decode("utf-8")
                            else:
                                payload = frame_text(data, start, pos, mask_expected)
                        except UnicodeDecodeError as exc:
                            raise _fail_utf8(exc, 0) from None
                        opcode = op_text
                    # _new_frame, inline: once per message
                    event = new_frame(Frame) if interpreted else Frame.__new__(Frame)
                    event.opcode = opcode
                    event.data = payload
                    event.fin = True
                    event.rsv1 = False
                    if interpreted:
                        append(event)
                    else:
                        events.append(event)
                if pos >= end:
                    break
            size = self._start_frame(data, pos, end, events)
            if size == 0:
                self._head = data[pos:end]
                return
            pos += size

    def _start_frame(self, data, pos, end, events):
        """Parse and check the header at data[pos:end]; its size, or 0 if incomplete."""
        if self._closed:
            raise ProtocolError(1002, "data received after the close frame")
        if end - pos < 2:
            return 0
        b0 = data[pos]
        b1 = data[pos + 1]
        length = b1 & 0x7F
        if length < 126:  # the 7-bit form, inline: most frames are small
            size = 6 if b1 & 0x80 else 2
            if end - pos < size:
                return 0
        else:
            size = _header_size(b1)
            if end - pos < size:
                return 0
            length = _read_length(data, pos, b1)
            _check_length(data, pos, b1, length, self._nonminimal_ok)
        opcode = b0 & 0x0F
        if _OPCODES[opcode] is None:
            raise ProtocolError(1002, "reserved opcode %#x" % opcode)
        masked = b1 & 0x80
        if masked != self._mask_expected and not self._mask_any:
            if masked:
                raise ProtocolError(1002, "masked frame from the server")
            raise ProtocolError(1002, "unmasked frame from the client")
        rsv = b0 & 0x70
        if rsv & ~self._rsv_allowed:
            raise ProtocolError(
                1002, "RSV bits %#x set without an extension that owns them" % (rsv >> 4)
            )
        if opcode >= 8:
            if not b0 & 0x80:
                raise ProtocolError(1002, "fragmented control frame")
            if length > 125:
                raise ProtocolError(
                    1002, "control frame payload of %d bytes exceeds 125" % length
                )
            if rsv:
                raise ProtocolError(1002, "RSV bit set on a control frame")
        else:
            self._start_data_frame(b0, opcode, rsv, length)
        self._b0 = b0
        # An unmasked frame gets key 0: XOR with 0 is a copy, so one path serves both.
        self._key = load_key(data, pos + size - 4) if masked else 0
        self._length = length
        self._remaining = length
        if length == 0:
            self._end_frame(b"", events)
        return size

    def _start_data_frame(self, b0, opcode, rsv, length):
        """The rules for a data frame's place in its message and its size."""
        if length > self.max_frame_size:
            raise ProtocolError(
                1009,
                "frame of %d bytes exceeds the limit of %d" % (length, self.max_frame_size),
            )
        if opcode == _OP_CONT:
            if not self._msg_opcode:
                raise ProtocolError(1002, "continuation frame without a message to continue")
            if rsv & 0x40:
                raise ProtocolError(1002, "RSV1 set on a continuation frame")
            self._msg_cost += FRAGMENT_COST
        else:
            if self._msg_opcode:
                raise ProtocolError(
                    1002, "new data frame while a fragmented message is unfinished"
                )
            self._msg_opcode = opcode
            self._msg_compressed = (rsv & 0x40) != 0 and self._compressor is not None
            self._msg_cost = 0
            if opcode == _OP_TEXT:
                self._validator = None
        if not self._msg_compressed:
            cost = self._msg_cost + length
            if cost > self.max_message_size:
                raise ProtocolError(1009, self._too_big(cost))
            self._msg_cost = cost
        elif self._msg_cost > self.max_message_size:
            raise ProtocolError(1009, self._too_big(self._msg_cost))

    def _too_big(self, size):
        return "message of %d bytes exceeds the limit of %d" % (size, self.max_message_size)

    def _consume(self, data, start, stop, events):
        """Take payload bytes data[start:stop] of the current frame."""
        offset = self._length - self._remaining
        self._remaining -= stop - start
        b0 = self._b0
        if b0 & 0x08:  # control frame: buffered whole, at most 125 bytes
            chunk = unmask(data, start, stop, self._key, offset)
            if self._remaining or offset:
                self._ctrl += chunk
                if self._remaining:
                    return
                chunk = bytes(self._ctrl)
                del self._ctrl[:]
            self._end_control(chunk, events)
        elif (
            self._remaining == 0
            and offset == 0
            and b0 & 0x80
            and self._assemble
            and not self._parts
            and not self._msg_compressed
        ):
            self._whole_message(data, start, stop, events)
        else:
            self._data_chunk(unmask(data, start, stop, self._key, offset), events)
            if self._remaining == 0:
                self._end_data_frame(events)

    def _whole_message(self, data, start, stop, events):
        """The fast path: a message of one frame whose payload is data[start:stop]."""
        opcode = self._msg_opcode
        self._msg_opcode = 0
        if opcode == _OP_TEXT and self._text_str:
            try:
                text = unmask_text(data, start, stop, self._key, 0)
            except UnicodeDecodeError as exc:
                raise _fail_utf8(exc, 0) from None
            events.append(_new_frame(opcode, text, True, False))
            return
        chunk = unmask(data, start, stop, self._key, 0)
        if opcode == _OP_TEXT:
            validator = Utf8Validator()
            if not validator.feed(chunk):
                raise ProtocolError(
                    1007, "invalid UTF-8 at byte %d of the text" % validator.error_offset
                )
            if not validator.complete:
                raise ProtocolError(1007, "text ends inside a UTF-8 sequence")
        events.append(_new_frame(opcode, chunk, True, False))

    def _data_chunk(self, chunk, events):
        """Account, inflate and validate payload bytes of a data frame as they arrive."""
        last = self._remaining == 0 and (self._b0 & 0x80) != 0
        if self._msg_compressed:
            budget = self.max_message_size - self._msg_cost
            try:
                chunk = self._compressor.inflate(chunk, last, budget)
            except ProtocolError:
                raise
            except Exception as exc:
                raise ProtocolError(1007, "invalid compressed data: %s" % exc) from None
            if len(chunk) > budget:
                raise ProtocolError(
                    1009,
                    "message inflates past the limit of %d bytes" % self.max_message_size,
                )
            self._msg_cost += len(chunk)
        if self._msg_opcode == _OP_TEXT and chunk:
            validator = self._validator
            if validator is None:
                validator = self._validator = Utf8Validator()
            if not validator.feed(chunk):
                raise ProtocolError(
                    1007, "invalid UTF-8 at byte %d of the text" % validator.error_offset
                )
        if chunk:
            parts = self._parts
            n = len(parts)
            # Small reads grow the last part instead of each becoming an object of its own:
            # a peer dribbling a message byte by byte would otherwise cost ~120 bytes of
            # memory per byte (the object, its list slot, b"".join's Py_buffer).
            # (parts[n - 1], not parts[-1]: the compiled codec has wraparound off.)
            if len(chunk) < _COALESCE_BELOW and n and len(parts[n - 1]) < _COALESCE_PART:
                tail = parts[n - 1]
                if type(tail) is not bytearray:
                    tail = bytearray(tail)
                    parts[n - 1] = tail
                tail += chunk
            else:
                parts.append(chunk)

    def _end_data_frame(self, events):
        fin = (self._b0 & 0x80) != 0
        if fin and self._msg_opcode == _OP_TEXT:
            validator = self._validator
            if validator is not None and not validator.complete:
                raise ProtocolError(1007, "text ends inside a UTF-8 sequence")
        if not self._assemble:
            data = b"".join(self._parts)
            self._parts = []
            events.append(
                _new_frame(self._b0 & 0x0F, data, fin, (self._b0 & 0x40) != 0)
            )
        elif fin:
            data = b"".join(self._parts)
            self._parts = []
            if self._msg_opcode == _OP_TEXT and self._text_str:
                data = decode_valid_text(data)  # validated as it arrived
            events.append(_new_frame(self._msg_opcode, data, True, False))
        if fin:
            self._msg_opcode = 0
            self._validator = None

    def _end_frame(self, chunk, events):
        """A frame whose payload is complete (used for empty payloads)."""
        if self._b0 & 0x08:
            self._end_control(chunk, events)
        elif self._b0 & 0x80 and self._assemble and not self._parts and not self._msg_compressed:
            self._whole_message(chunk, 0, 0, events)
        else:
            self._data_chunk(chunk, events)
            self._end_data_frame(events)

    def _end_control(self, payload, events):
        opcode = self._b0 & 0x0F
        if opcode == _OP_CLOSE:
            code, reason = self._parse_close(payload)
            self._closed = True
            event = Close.__new__(Close)
            event.opcode = Opcode.CLOSE
            event.data = payload
            event.fin = True
            event.rsv1 = False
            event.code = code
            event.reason = reason
            events.append(event)
        else:
            events.append(_new_frame(opcode, payload, True, False))

    def _parse_close(self, payload):
        if not self._any_close_code or len(payload) < 2:
            return parse_close(payload)
        code = (payload[0] << 8) | payload[1]
        if not 1000 <= code <= 4999:
            raise ProtocolError(1002, "close code %d outside 1000-4999" % code)
        try:
            return code, payload[2:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail_utf8(exc, 0) from None


class FrameEncoder:
    """FrameEncoder(role='server', *, max_frame_size=None, extensions=())
--

Messages in, bytes out. A "client" masks every frame with a fresh CSPRNG key.

    ``max_frame_size`` splits ``text``/``binary`` messages into fragments of at most that
    many payload bytes. With a compression extension (``extensions=[PerMessageDeflate]``)
    ``text``/``binary`` compress messages the extension deems worth it, and
    ``encode(..., rsv1=True)`` starts a compressed fragmented message.
    """

    __slots__ = ("role", "max_frame_size", "_masked", "_compressor", "_compressing", "_busy")

    def __init__(self, role="server", *, max_frame_size=None, extensions=()):
        if role not in _ROLES:
            raise ValueError("role must be 'server' or 'client', not %r" % (role,))
        max_frame_size = _args.size_limit(
            max_frame_size, "max_frame_size", True, _args.SSIZE_MAX
        )
        self._busy = False
        self.role = role
        self.max_frame_size = max_frame_size or 0
        self._masked = role == "client"
        self._compressor = None
        for ext in _extension_list(extensions):
            if int(ext.rsv_bits) & 0x40:
                self._compressor = ext
        self._compressing = False

    # Every public method marks the encoder busy while inside (a second thread entering
    # raises RuntimeError): the compression state must never be shared half-updated.
    def _enter(self):
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameEncoder")
        else:
            if self._busy:
                raise _args.two_threads("FrameEncoder")
            self._busy = True
        return 0

    def text(self, text):
        """A whole text message (``str``)."""
        if type(text) is not str:
            _text_arg(text)
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameEncoder")
        else:  # (test and set with no call in between: no thread switch on a GIL build)
            if self._busy:
                raise _args.two_threads("FrameEncoder")
            self._busy = True
        try:
            if self._compressor is None and not self.max_frame_size:
                # The common case: one frame, and an ASCII str's characters are its bytes.
                frame = encode_ascii_frame(0x80 | _OP_TEXT, text, self._masked)
                if frame is not None:
                    return frame
            return self._message(_OP_TEXT, text.encode("utf-8"))
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def binary(self, data):
        """A whole binary message."""
        if type(data) is not bytes:
            data = _args.to_bytes(data, "binary()")
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameEncoder")
        else:  # (test and set with no call in between: no thread switch on a GIL build)
            if self._busy:
                raise _args.two_threads("FrameEncoder")
            self._busy = True
        try:
            return self._message(_OP_BINARY, data)
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def ping(self, data=b""):
        payload = _args.to_bytes(data, "ping()")
        self._enter()
        try:
            return self._control(Opcode.PING, payload)
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def pong(self, data=b""):
        payload = _args.to_bytes(data, "pong()")
        self._enter()
        try:
            return self._control(Opcode.PONG, payload)
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def close(self, code=None, reason=""):
        """A close frame; ValueError for a code or reason that may not be sent."""
        payload = build_close(code, reason)
        self._enter()
        try:
            return self._control(_OP_CLOSE, payload)
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def encode(self, opcode, data, fin=True, rsv1=False):
        """One frame. ``rsv1=True`` on the first frame of a message compresses the message
        (every frame of it, up to ``fin``) with the negotiated extension."""
        op = opcode
        if type(op) is not int or not 0 <= op <= 15:
            op = _opcode_arg(opcode)
        if type(data) is bytes:
            payload = data
        elif isinstance(data, str):
            payload = data.encode("utf-8")
        else:
            payload = _args.to_bytes(data, "encode()")
        if cython.compiled:
            if not wsf_try_enter(cython.address(self._busy)):
                raise _args.two_threads("FrameEncoder")
        else:  # (test and set with no call in between: no thread switch on a GIL build)
            if self._busy:
                raise _args.two_threads("FrameEncoder")
            self._busy = True
        try:
            return self._encode(op, payload, fin, rsv1)
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def _encode(self, op, payload, fin, rsv1):
        if _OPCODES[op] is None:
            raise ValueError("opcode %r is reserved" % (op,))
        if op >= 8:
            if not fin or rsv1:
                raise ValueError("control frames cannot be fragmented or compressed")
            return self._control(op, payload)
        first = op != _OP_CONT
        if first:
            self._compressing = bool(rsv1)
        elif rsv1:
            raise ValueError("RSV1 belongs on the first frame of a message only")
        if self._compressing:
            if self._compressor is None:
                raise ValueError("rsv1=True needs a compression extension")
            payload = self._compressor.deflate(payload, bool(fin))
        b0 = (0x80 if fin else 0) | (0x40 if first and self._compressing else 0) | op
        if fin:
            self._compressing = False
        return encode_frame(b0, payload, self._masked)

    def encode_parts(self, opcode, data, fin=True, rsv1=False):
        """``encode`` as a list of buffers to write in order (``writelines``, ``sendmsg``).

        A server's uncompressed payload comes back as given, never copied: a large message
        costs one small header. Masked or compressed frames are one buffer (both copy).
        """
        op = opcode
        if type(op) is not int or not 0 <= op <= 15:
            op = _opcode_arg(opcode)
        if self._masked or rsv1 or op >= 8:
            return [self.encode(op, data, fin, rsv1)]
        if isinstance(data, str):
            data = data.encode("utf-8")
        size = len(_args.byte_view(data, "encode_parts()"))
        self._enter()
        try:
            if op == _OP_CONT and self._compressing:
                return [self._encode(op, _args.to_bytes(data, "encode_parts()"), fin, rsv1)]
            if _OPCODES[op] is None:
                raise ValueError("opcode %r is reserved" % (op,))
            if op != _OP_CONT:
                self._compressing = False
            return [frame_header((0x80 if fin else 0) | op, size, None), data]
        finally:
            if cython.compiled:
                wsf_leave(cython.address(self._busy))
            else:
                self._busy = False

    def _message(self, opcode, payload):
        b0 = opcode
        if self._compressor is not None and self._compressor.should_compress(len(payload)):
            payload = self._compressor.deflate(payload, True)
            b0 |= 0x40
        limit = self.max_frame_size
        if not limit or len(payload) <= limit:
            return encode_frame(b0 | 0x80, payload, self._masked)
        parts = []
        n = len(payload)
        for start in range(0, n, limit):
            stop = start + limit
            fin = 0x80 if stop >= n else 0
            parts.append(encode_frame(b0 | fin, payload[start:stop], self._masked))
            b0 = _OP_CONT
        return b"".join(parts)

    def _control(self, opcode, payload):
        if len(payload) > 125:
            raise ValueError(
                "control frame payload of %d bytes exceeds 125" % len(payload)
            )
        return encode_frame(0x80 | opcode, payload, self._masked)


def _text_arg(text):
    """TypeError for a text() argument that is not str, saying what to do instead."""
    if isinstance(text, str):
        return
    if isinstance(text, (bytes, bytearray, memoryview)):
        raise TypeError(
            "text() takes str, not %s: use binary() for bytes, or decode it first"
            % type(text).__name__
        )
    raise TypeError("text() takes str, not %s" % type(text).__name__)


def _extension_list(extensions):
    """The extensions of a decoder or encoder: objects with an int ``rsv_bits``
    (wsframe.deflate's PerMessageDeflate)."""
    if isinstance(extensions, (str, bytes)) or not hasattr(type(extensions), "__iter__"):
        raise TypeError(
            "extensions takes a list of extension objects, not %s"
            % type(extensions).__name__
        )
    result = []
    for ext in extensions:
        bits = getattr(ext, "rsv_bits", None)
        if not isinstance(bits, int) or isinstance(bits, bool):
            raise TypeError(
                "extensions takes wsframe.deflate objects (the PerMessageDeflate that "
                "wsframe.deflate.server_negotiate() or client_accept() returns), not %r"
                % (ext,)
            )
        result.append(ext)
    return result


def _opcode_arg(opcode):
    """An opcode argument as an int from 0 to 15 (TypeError, ValueError otherwise)."""
    if isinstance(opcode, bool) or not hasattr(type(opcode), "__index__"):
        raise TypeError(
            "opcode must be an int or wsframe.Opcode, not %s" % type(opcode).__name__
        )
    op = opcode.__index__()
    if not 0 <= op <= 15:
        raise ValueError("opcode %r is reserved" % (opcode,))
    return op


if not cython.compiled:
    # The first lines of the classes' docstrings above are their signatures in Argument
    # Clinic's form, which CPython reads as the compiled classes' __text_signature__ (for
    # help() and inspect.signature); interpreted classes have real ones: drop the lines.
    for _cls in (Frame, Close, FrameHeader, FrameDecoder, FrameEncoder):
        _cls.__doc__ = str(_cls.__doc__).split("\n--\n\n", 1)[1]
    del _cls
