"""The primitives in plain Python: the fallback for ``_primitives.pyx``.

Same names, same signatures, same results as the C module, so the codec source can call
either. Masking XORs whole payloads as one big integer (CPython does that in C), which is
an order of magnitude faster than a byte loop; UTF-8 validation leans on CPython's own
incremental decoder.
"""

import codecs
import os
import threading

from . import _args

__all__ = [
    "apply_mask",
    "apply_mask_inplace",
    "apply_mask_into",
    "validate_utf8",
    "Utf8Validator",
    "random_mask",
    "cpu_paths",
    "available_paths",
    "set_path",
    "unmask",
    "utf8_error_offset",
    "load_key",
    "unmask_text",
    "frame_payload",
    "frame_text",
    "decode_valid_text",
    "frame_header",
    "encode_frame",
    "encode_ascii_frame",
]

_PRIMS = ("mask", "utf8")


def _offset(offset):
    """``offset`` checked as the C module's Py_ssize_t parameter is."""
    if type(offset) is not int or not _args.SSIZE_MIN <= offset <= _args.SSIZE_MAX:
        offset = _args.c_integer(offset, "offset")
    return offset


# The key stream of a payload of n <= _SMALL bytes is key * _REP[n] & _MASK[n]: one
# multiplication instead of building n bytes of repeated key (small frames are the
# interpreted hot path).
_SMALL = 256
_REP = tuple(int.from_bytes(b"\x01\0\0\0" * ((n + 3) >> 2), "little") for n in range(_SMALL + 1))
_MASK = tuple((1 << (8 * n)) - 1 for n in range(_SMALL + 1))
_from_bytes = int.from_bytes


def load_key(data, pos):
    """The masking key at data[pos:pos+4], in the form ``unmask`` takes: an int whose
    little-endian bytes are the key (as the C codec's ``memcpy`` into a word)."""
    return _from_bytes(data[pos : pos + 4], "little")


def _key_stream(key, n):
    """The int whose ``n`` little-endian bytes are the key repeated."""
    if n <= _SMALL:
        return key * _REP[n] & _MASK[n]
    return _from_bytes((key.to_bytes(4, "little") * ((n >> 2) + 1))[:n], "little")


# From this size on, a payload is unmasked by four bytearray.translate passes over its
# strided quarters instead of as one big int: the int's byte-by-byte conversions cost more
# (measured: the same at ~700 bytes, 1.5x faster at 4 KiB, 3x at 1 MiB).
_TRANSLATE_FROM = 1024
# _XOR_TABLES[k] maps each byte to itself XOR k; built on first use (256 bytes each).
_XOR_TABLES = [None] * 256


def _xor_table(k):
    table = _XOR_TABLES[k]
    if table is None:
        table = _XOR_TABLES[k] = bytes(i ^ k for i in range(256))
    return table


def unmask(src, start, end, key, phase):
    """``src[start:end]`` XOR the key ``key`` (from ``load_key``) rotated by ``phase``.

    The codec's internal form: the arguments are already checked; key 0 means unmasked.
    """
    if not key:
        return src[start:end]
    n = end - start
    if n <= 0:
        return b""
    shift = (phase & 3) << 3
    if shift:  # rotate so that key byte ``phase`` comes first
        key = (key >> shift | key << (32 - shift)) & 0xFFFFFFFF
    if n < _TRANSLATE_FROM:
        return (_from_bytes(src[start:end], "little") ^ _key_stream(key, n)).to_bytes(
            n, "little"
        )
    with memoryview(src) as view:
        buf = bytearray(view[start:end])
    for i in range(4):  # bytes i, i+4, i+8, ... all take key byte i
        buf[i::4] = buf[i::4].translate(_xor_table((key >> (8 * i)) & 0xFF))
    return bytes(buf)


def unmask_text(src, start, end, key, phase):
    """``unmask`` decoded as UTF-8 (UnicodeDecodeError if it is not)."""
    return unmask(src, start, end, key, phase).decode("utf-8")


def frame_payload(src, start, end, masked):
    """The payload src[start:end] of a frame whose key, if ``masked``, is the 4 bytes
    before it: unmasked (the decoder's fast path, one call per frame)."""
    if not masked:
        return src[start:end]
    return unmask(src, start, end, _from_bytes(src[start - 4 : start], "little"), 0)


def frame_text(src, start, end, masked):
    """``frame_payload`` decoded as UTF-8 (UnicodeDecodeError if it is not).

    (The interpreted decoder does frames of 1 to 256 masked bytes inline, with _REP and
    _MASK: see FrameDecoder._process.)
    """
    return frame_payload(src, start, end, masked).decode("utf-8")


def decode_valid_text(data):
    """The str of text that a Utf8Validator already accepted whole."""
    return data.decode("utf-8")


def apply_mask(data, mask, offset=0):
    """Return ``data`` XOR ``mask``; ``offset`` is the key position where ``data`` starts."""
    offset = _offset(offset)  # (checked first, as the C module's typed parameter is)
    src = _args.to_bytes(data, "apply_mask()")
    key = load_key(_args.mask_key(mask, "apply_mask()"), 0)
    return unmask(src, 0, len(src), key, offset) if key else src


def apply_mask_inplace(buf, mask, offset=0):
    """Mask a writable buffer in place."""
    offset = _offset(offset)
    with _args.writable_view(buf, "apply_mask_inplace()") as view:
        key = load_key(_args.mask_key(mask, "apply_mask_inplace()"), 0)
        view[:] = unmask(view.tobytes(), 0, len(view), key, offset)


def apply_mask_into(dst, src, mask, offset=0):
    """Write ``src`` XOR ``mask`` into the start of the writable buffer ``dst``.

    ``src`` may overlap ``dst``: the result is as if ``src`` were copied first.
    """
    offset = _offset(offset)
    with _args.writable_view(dst, "apply_mask_into()") as out:
        data = _args.to_bytes(src, "apply_mask_into()")
        key = load_key(_args.mask_key(mask, "apply_mask_into()"), 0)
        if len(out) < len(data):
            raise ValueError(
                "destination holds %d bytes, source has %d" % (len(out), len(data))
            )
        out[: len(data)] = unmask(data, 0, len(data), key, offset)


def utf8_error_offset(exc):
    """Offset of the first impossible byte, from CPython's UnicodeDecodeError.

    CPython reports the start of the bad sequence; for a lead byte followed by a byte that
    cannot continue it, the impossible byte is the one after the valid part (``end``).
    """
    if exc.reason == "invalid start byte":
        return exc.start
    return exc.end


def validate_utf8(data):
    """True if ``data`` is complete, valid UTF-8 (RFC 3629)."""
    try:
        codecs.utf_8_decode(_args.to_bytes(data, "validate_utf8()"), "strict", True)
    except UnicodeDecodeError:
        return False
    return True


# Allowed range of the second byte of a sequence, by lead byte (RFC 3629 table).
_SECOND = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}


def _impossible_in_prefix(pending):
    """Index of the first impossible byte of an unfinished sequence, or -1."""
    low, high = _SECOND.get(pending[0], (0x80, 0xBF))
    if len(pending) > 1 and not low <= pending[1] <= high:
        return 1
    for i in range(2, len(pending)):
        if not 0x80 <= pending[i] <= 0xBF:
            return i
    return -1


class Utf8Validator:
    """Incremental UTF-8 validation: invalid at the first impossible byte, not before.

    One stream, one thread at a time: a second thread entering ``feed`` or ``reset``
    while another is inside raises RuntimeError (the state is never shared half-written).
    """

    __slots__ = ("_decoder", "_fed", "_busy", "error_offset")

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._fed = 0
        self._busy = False
        self.error_offset = None

    def reset(self):
        # (test and set with no call in between: no thread switch on a GIL build)
        busy = self._busy
        self._busy = True
        if busy:
            raise _args.two_threads("Utf8Validator")
        self._decoder.reset()
        self._fed = 0
        self.error_offset = None
        self._busy = False

    def feed(self, data):
        """Feed the next chunk; False once the text can no longer be valid."""
        busy = self._busy
        self._busy = True
        if busy:
            raise _args.two_threads("Utf8Validator")
        try:
            return self._feed(data)
        finally:
            self._busy = False

    def _feed(self, data):
        if type(data) is not bytes:
            data = _args.to_bytes(data, "Utf8Validator.feed()")
        if self.error_offset is not None:
            return False
        try:
            self._decoder.decode(data, False)
        except UnicodeDecodeError as exc:
            # The decoder's offsets are relative to its pending bytes plus this chunk.
            pending = len(exc.object) - len(data)
            self.error_offset = self._fed - pending + utf8_error_offset(exc)
            return False
        pending = self._decoder.getstate()[0]
        if pending:
            bad = _impossible_in_prefix(pending)
            if bad >= 0:
                # CPython waits for more bytes before rejecting a surrogate prefix (ED A0).
                self.error_offset = self._fed + len(data) - len(pending) + bad
                return False
        self._fed += len(data)
        return True

    @property
    def complete(self):
        """True if the text is valid and does not end inside a character."""
        return self.error_offset is None and not self._decoder.getstate()[0]


class _KeyPool(threading.local):
    """4 KiB of OS randomness per thread, so a key costs no system call."""

    def __init__(self):
        self.pid = -1
        self.buf = b""
        self.pos = 0


_pool = _KeyPool()
_POOL_SIZE = 4096


def random_mask():
    """A fresh 4-byte masking key from the OS CSPRNG (pooled; safe after fork)."""
    pool = _pool
    pos = pool.pos
    if pos >= len(pool.buf) or pool.pid != os.getpid():
        pool.buf = os.urandom(_POOL_SIZE)
        pool.pid = os.getpid()
        pos = 0
    pool.pos = pos + 4
    return pool.buf[pos : pos + 4]


def cpu_paths():
    """The path each primitive takes: always "python" here."""
    return {prim: "python" for prim in _PRIMS}


def available_paths(prim):
    _args.path_names(prim, None)
    if prim not in _PRIMS:
        raise ValueError("unknown primitive %r; expected one of %s" % (prim, _PRIMS))
    return ["python"]


def set_path(prim, name=None):
    _args.path_names(prim, name)
    if name not in (None, "auto", "python") or prim not in _PRIMS:
        raise ValueError("path %r is not available for %r in pure Python" % (name, prim))


def frame_header(b0, length, key):
    """Header bytes: first byte ``b0``, shortest length form, then ``key`` if not None."""
    masked = 0x80 if key is not None else 0
    if length < 126:
        head = bytes((b0, masked | length))
    elif length < 65536:
        head = bytes((b0, masked | 126, length >> 8, length & 0xFF))
    else:
        head = bytes((b0, masked | 127)) + length.to_bytes(8, "big")
    return head if key is None else head + key


def encode_frame(b0, payload, masked):
    """A whole frame: header then payload, masked with a fresh key when ``masked``."""
    n = len(payload)
    if not masked:
        return frame_header(b0, n, None) + payload
    key = random_mask()
    return frame_header(b0, n, key) + unmask(payload, 0, n, load_key(key, 0), 0)


def encode_ascii_frame(b0, text, masked):
    """The frame of an ASCII str (``encode_frame`` of its bytes); None when the text is
    not ASCII (the C twin reads an ASCII str's characters as its bytes)."""
    if not text.isascii():
        return None
    return encode_frame(b0, text.encode("ascii"), masked)
