"""aiohttp: the client's frame writer, and the pure-Python masker.

1. ``WebSocketWriter._write_websocket_frame(message, opcode, rsv)`` (the send path of
   every frame, compressed or not; ``send_frame`` above it is kept as it is: its lock,
   shield, executor and flow control are untouched). aiohttp builds a masked frame in
   four steps: header (``struct``), key (``PACK_RANDBITS(self.get_random_bits())``), a
   ``bytearray`` copy of the payload masked in place, and ``header + key + masked`` (a
   second copy). Here the copy and the masking are one pass (``wsframe.apply_mask``,
   which returns the masked ``bytes``): measured 1.11-1.14x at 32 B and 1 KiB and
   1.23-1.27x at 64 KiB on aiohttp's own client send path with its compiled masker,
   2.5-17x on its pure-Python one; a server's (unmasked) frames at parity
   (docs/integrations/aiohttp.md). Replaced by default.

   Kept exactly: the same bytes for the same key, drawn from the same source
   (``self.get_random_bits``, i.e. the ``random.Random`` given to the writer, so a test
   that seeds it gets the same frames) at the same moment (after the closing-transport
   check, one draw per masked frame); aiohttp's own ``PACK_LEN*``/``PACK_RANDBITS``
   structs for the header and key (so their ``struct.error`` stays theirs); the same
   ``ClientConnectionResetError``; the same ``transport.write`` calls (one ``bytes`` per
   masked frame; header and payload written apart above ``MSG_SIZE`` when unmasked); the
   same ``_output_size`` accounting. A payload that is neither ``bytes`` nor
   ``bytearray`` (a ``memoryview``, or anything else) is masked as aiohttp does it
   (``bytearray`` copy, the writer module's ``websocket_mask``), so its result and its
   ``TypeError`` stay aiohttp's. The unmasked branch (servers) is the same work as
   aiohttp's: it is written here only so that a server's frames do not pay for an extra
   call (and the method reads module globals, not a closure's cells, for the same reason).

2. ``websocket_mask(mask, data) -> None`` (in place), in ``aiohttp._websocket.writer``
   and ``aiohttp._websocket.reader_py`` (the pure-Python reader, used with
   ``AIOHTTP_NO_EXTENSIONS``): only where aiohttp masks in pure Python. Against its
   compiled masker the replacement was measured not to pay (the extra Python call layer
   costs what the wider SIMD saves). ``data`` (a ``bytearray``) is masked in place and
   ``None`` returned; anything else than a ``bytes`` key of 4 bytes and a ``bytearray``
   goes to aiohttp's own function, so its ``TypeError``/``AssertionError`` stay its own.

On aiohttp 3.11.0-3.13.1 (no ``_write_websocket_frame``: the frame is built inside
``send_frame``) only 2. applies: with aiohttp's compiled extensions nothing is replaced
there, and ``install()`` returns an empty tuple.

Not replaced: the compiled reader (``reader_c``) ``cimport``s aiohttp's Cython masker as a
C function, so no Python-level patch reaches it; replacing the whole reader class would
change aiohttp's behaviour in ways its suite checks (flow control, stall/resume, error
texts) for a gain measured below 10 % at 64 KiB (see docs/integrations/aiohttp.md).
"""


import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION"]


def _make_mask(original):
    apply_mask_inplace = _wsf.apply_mask_inplace

    def websocket_mask(mask, data):
        if type(mask) is bytes and type(data) is bytearray and len(mask) == 4:
            apply_mask_inplace(data, mask)
            return None
        return original(mask, data)

    websocket_mask.__wrapped__ = original
    return websocket_mask


# What the frame writer uses, bound by _bind_writer() from aiohttp's own modules when
# install() runs. Module globals rather than a closure: aiohttp's method reads its
# module's globals, and a closure's cells cost a few nanoseconds more per call, which is
# measurable on a server's unmasked frames (about 0.6 us each).
_original_write = None
_writer_module = None
_pack_short = _pack_16 = _pack_64 = _pack_key = None  # aiohttp's "!BB" "!BBH" "!BBQ" "!L"
_split_above = None  # MSG_SIZE: above it, an unmasked frame is written in two calls
_reset_error = None
_apply_mask = _wsf.apply_mask


def _bind_writer(writer_module, helpers):
    global _original_write, _writer_module, _pack_short, _pack_16, _pack_64, _pack_key
    global _split_above, _reset_error
    _original_write = writer_module.WebSocketWriter._write_websocket_frame
    _writer_module = writer_module
    _pack_short = helpers.PACK_LEN1
    _pack_16 = helpers.PACK_LEN2
    _pack_64 = helpers.PACK_LEN3
    _pack_key = helpers.PACK_RANDBITS
    _split_above = helpers.MSG_SIZE
    _reset_error = writer_module.ClientConnectionResetError
    _write_websocket_frame.__wrapped__ = _original_write
    return _write_websocket_frame


def _write_websocket_frame(self, message, opcode, rsv):
    """WebSocketWriter._write_websocket_frame, masking with wsframe.apply_mask."""
    # aiohttp's steps, in its order; only the masking differs (see the module docstring).
    size = len(message)
    b0 = 0x80 | rsv | opcode
    if not self.use_mask:
        if size < 126:
            head = _pack_short(b0, size)
            sent = size + 2
        elif size < 65536:
            head = _pack_16(b0, 126, size)
            sent = size + 4
        else:
            head = _pack_64(b0, 127, size)
            sent = size + 10
        transport = self.transport
        if transport.is_closing():
            raise _reset_error("Cannot write to closing transport")
        if size > _split_above:
            transport.write(head)
            transport.write(message)
        else:
            transport.write(head + message)
        self._output_size += sent
        return
    if size < 126:
        head = _pack_short(b0, size | 0x80)
        sent = size + 6
    elif size < 65536:
        head = _pack_16(b0, 254, size)
        sent = size + 8
    else:
        head = _pack_64(b0, 255, size)
        sent = size + 14
    transport = self.transport
    if transport.is_closing():
        raise _reset_error("Cannot write to closing transport")
    key = _pack_key(self.get_random_bits())
    kind = type(message)
    if kind is bytes or kind is bytearray:
        masked = _apply_mask(message, key)
    else:
        # What aiohttp does (a memoryview, any other buffer, or its TypeError).
        masked = bytearray(message)
        _writer_module.websocket_mask(key, masked)
    transport.write(head + key + masked)
    # (aiohttp adds the key's 4 bytes, then header and payload: the same sum.)
    self._output_size += sent


# The frame writer's method exists from 3.13.2; 3.11.0-3.13.1 build the frame inside
# send_frame (its lock, compression and flow control around it): only their masker is
# replaced there.
WRITER_FROM = (3, 13, 2)


class AiohttpIntegration(Integration):
    name = "aiohttp"
    module = "aiohttp"
    dist = "aiohttp"
    # 3.11.0-3.14.5 keep the aiohttp._websocket package: the same websocket_mask(mask,
    # data) in writer and reader_py; _write_websocket_frame from 3.13.2 (same steps in
    # 3.13.2-3.14.5). 3.9 and 3.10 build frames in http_websocket.py: refused.
    tested = ("3.11.18", "3.12.15", "3.13.2", "3.14.5")
    minimum = (3, 11)
    below = (3, 15)

    def patches(self):
        from aiohttp._websocket import helpers, reader_py, writer

        out = []
        if self.version_tuple() >= WRITER_FROM:
            out.append(
                (
                    writer.WebSocketWriter,
                    "_write_websocket_frame",
                    _bind_writer(writer, helpers),
                    "aiohttp._websocket.writer.WebSocketWriter._write_websocket_frame",
                )
            )
        for module, dotted in (
            (writer, "aiohttp._websocket.writer.websocket_mask"),
            (reader_py, "aiohttp._websocket.reader_py.websocket_mask"),
        ):
            current = module.websocket_mask
            # Measured: against aiohttp's compiled (Cython) in-place masker the
            # replacement does not pay (0.8-1.0x on the send path: the extra call layer
            # costs what the wider SIMD saves); against its pure-Python masker
            # (AIOHTTP_NO_EXTENSIONS, PyPy, no wheel) it does. So only the latter is
            # replaced, unless forced. (The writer's frames no longer call the writer's
            # name, but a memoryview payload still goes through aiohttp's method.)
            if current is helpers._websocket_mask_python or self.forced:
                out.append((module, "websocket_mask", _make_mask(current), dotted))
        return out


INTEGRATION = AiohttpIntegration()


def install(force=False):
    """Accelerate aiohttp; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore aiohttp's own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
