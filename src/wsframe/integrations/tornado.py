"""tornado: the frame writer ``_write_frame``; the masker ``_websocket_mask(mask, data)``.

tornado's C masker (``tornado.speedups.websocket_mask``) is a scalar loop (8 bytes at a
time); without the extension, tornado masks byte by byte in Python. The receive path
(``WebSocketProtocol13._receive_frame``) and tornado's own ``_write_frame`` (which the
replacement below still calls for control frames) call the name ``_websocket_mask`` that
``tornado.websocket`` imported from ``tornado.util``: both names are replaced.

Only replaced where tornado masks in pure Python (``tornado.util._websocket_mask_python``:
no compiled ``tornado.speedups``, e.g. a source install without a compiler, PyPy, or
``TORNADO_EXTENSION=0``). Against its compiled masker the replacement was measured not to
pay at the sizes most messages have: on the thread's CPU time, tornado's own receive and
send paths ran 0.97x at 32 B and 1.00x at 1 KiB with it (the extra Python call layer,
about 20 ns, costs what the wider SIMD saves), 1.04x (receive) and 1.54x (send) at 64 KiB
(docs/integrations/tornado.md). ``install(force=True)`` replaces it anyway.

Kept exactly as tornado does it: a new ``bytes`` is returned; anything else than a
``bytes`` key of 4 bytes and a ``bytes`` payload goes to tornado's own function, so the
``ValueError``/``TypeError`` raised for them stay tornado's.

``WebSocketProtocol13._write_frame(fin, opcode, data, flags=0)`` (every data frame sent,
both sides) is replaced by default. tornado builds a frame with two or three
``struct.pack`` calls and three concatenations, and masks (client side) with
``_websocket_mask`` into a new ``bytes`` that it then prefixes with the key. Here the
header and the key are one precompiled ``struct`` pack, and the payload is masked by
``wsframe.apply_mask`` (one pass, no call layer between), then one concatenation.
Measured on tornado's own client send path, with ``tornado.speedups``: 1.13-1.14x at
32 B, 1.21-1.22x at 1 KiB, 2.00-2.09x at 64 KiB; 3.6x to 1300x on its pure-Python
masker (docs/integrations/tornado.md). Of that, at 32 B about half is the header (one
pack instead of two and a concatenation: not wsframe's doing) and half the masking; at
64 KiB nearly all is the masking. (``wsframe.encode_header``
gives the same bytes but its keyword arguments cost about 75 ns more than one pack:
1.07x instead of 1.19x at 32 B in the same trial run; so the header is packed here.)

Kept exactly: the same bytes for the same key; the key from ``os.urandom(4)``, looked up
at each frame through ``tornado.websocket``'s own ``os`` name as tornado does (a test
that patches ``os.urandom``, or that name, gets the same frames), drawn once per masked
frame at the same point (after the header is known to be valid); ``_wire_bytes_out``;
one ``stream.write`` per frame and its future returned. Control frames (opcode 8-15,
whose ``ValueError``s are tornado's), a payload that is not ``bytes``, and a first byte
outside 0-255 (tornado's ``struct.error``) go to tornado's own method.

Not replaced: ``_receive_frame``/``_read_bytes`` (the frame reading). It awaits
``IOStream.read_bytes`` for the 2 header bytes, then the extended length, then the key,
then the payload, and decides (abort on reserved bits, control length; 1009 on the
message size) between those reads: ``wsframe.parse_header`` needs the whole header at
once, and merging the reads would change when tornado closes on a bad or oversized
frame from a slow peer. On its receive path header parsing is 5 % (32 B), 4 % (1 KiB),
0.3 % (64 KiB) of the time, unmasking 3-6 %; the rest is the awaits, the futures and
``bytes.decode`` (docs/integrations/tornado.md).
"""

import struct as _struct

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION"]


def _make_mask(original):
    apply_mask = _wsf.apply_mask

    def _websocket_mask(mask, data):
        if type(mask) is bytes and type(data) is bytes and len(mask) == 4:
            return apply_mask(data, mask)
        return original(mask, data)

    _websocket_mask.__wrapped__ = original
    return _websocket_mask


# Module globals rather than a closure (a closure's cells cost a few nanoseconds per
# call); _original_write is bound by _bind_writer() when install() runs.
_original_write = None
_tornado_websocket = None  # the module: its own ``os`` name is looked up at each frame
_apply_mask = _wsf.apply_mask
_head_short = _struct.Struct("!BB").pack
_head_16 = _struct.Struct("!BBH").pack
_head_64 = _struct.Struct("!BBQ").pack
_head_short_key = _struct.Struct("!BB4s").pack
_head_16_key = _struct.Struct("!BBH4s").pack
_head_64_key = _struct.Struct("!BBQ4s").pack


def _bind_writer(module, klass):
    global _original_write, _tornado_websocket
    _tornado_websocket = module
    _original_write = klass._write_frame
    _write_frame.__wrapped__ = _original_write
    return _write_frame


def _write_frame(self, fin, opcode, data, flags=0):
    """WebSocketProtocol13._write_frame, masking with wsframe.apply_mask."""
    # In tornado's order: len(data) (bytes here), opcode & 0x8, then the first byte.
    if type(data) is not bytes or opcode & 0x8:
        return _original_write(self, fin, opcode, data, flags)
    b0 = (0x80 if fin else 0) | opcode | flags
    if b0 >> 8:
        return _original_write(self, fin, opcode, data, flags)
    size = len(data)
    if self.mask_outgoing:
        # tornado calls os.urandom(4) through its module's ``os``: so does this.
        key = _tornado_websocket.os.urandom(4)
        if size < 126:
            frame = _head_short_key(b0, size | 0x80, key)
        elif size < 65536:
            frame = _head_16_key(b0, 254, size, key)
        else:
            frame = _head_64_key(b0, 255, size, key)
        frame += _apply_mask(data, key)
    else:
        if size < 126:
            frame = _head_short(b0, size)
        elif size < 65536:
            frame = _head_16(b0, 126, size)
        else:
            frame = _head_64(b0, 127, size)
        frame += data
    self._wire_bytes_out += len(frame)
    return self.stream.write(frame)


class TornadoIntegration(Integration):
    name = "tornado"
    module = "tornado"
    dist = "tornado"
    # _write_frame and _websocket_mask are the same from 6.2 to 6.6.1.
    tested = ("6.2", "6.4.2", "6.6.1")
    minimum = (6, 2)
    below = (6, 7)

    def patches(self):
        import tornado.util
        import tornado.websocket

        out = []
        for module, dotted in (
            (tornado.util, "tornado.util._websocket_mask"),
            (tornado.websocket, "tornado.websocket._websocket_mask"),
        ):
            current = module._websocket_mask
            # Measured: against tornado.speedups the replacement does not pay below
            # 64 KiB; against tornado's pure-Python masker it does. So only the latter
            # is replaced, unless forced.
            if current is tornado.util._websocket_mask_python or self.forced:
                out.append((module, "_websocket_mask", _make_mask(current), dotted))
        klass = tornado.websocket.WebSocketProtocol13
        out.append(
            (
                klass,
                "_write_frame",
                _bind_writer(tornado.websocket, klass),
                "tornado.websocket.WebSocketProtocol13._write_frame",
            )
        )
        return out


INTEGRATION = TornadoIntegration()


def install(force=False):
    """Accelerate tornado; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore tornado's own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
