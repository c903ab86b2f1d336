"""tornado: the websocket masking function ``_websocket_mask(mask, data) -> bytes``.

tornado's C masker (``tornado.speedups.websocket_mask``) is a scalar loop (8 bytes at a
time); without the extension, tornado masks byte by byte in Python. Both the receive path
(``WebSocketProtocol13._receive_frame``) and the client's send path
(``_write_frame``) call the name ``_websocket_mask`` that ``tornado.websocket`` imported
from ``tornado.util``: both names are replaced.

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
"""

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


class TornadoIntegration(Integration):
    name = "tornado"
    module = "tornado"
    dist = "tornado"
    tested = ("6.6.1",)
    series = ((6, 6),)

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
