"""tornado: the websocket masking function ``_websocket_mask(mask, data) -> bytes``.

tornado's C masker (``tornado.speedups.websocket_mask``) is a scalar loop (8 bytes at a
time); without the extension, tornado masks byte by byte in Python. Both the receive path
(``WebSocketProtocol13._receive_frame``) and the client's send path
(``_write_frame``) call the name ``_websocket_mask`` that ``tornado.websocket`` imported
from ``tornado.util``: both names are replaced.

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

        replacement = _make_mask(tornado.util._websocket_mask)
        return [
            (tornado.util, "_websocket_mask", replacement, "tornado.util._websocket_mask"),
            (
                tornado.websocket,
                "_websocket_mask",
                replacement,
                "tornado.websocket._websocket_mask",
            ),
        ]


INTEGRATION = TornadoIntegration()


def install(force=False):
    """Accelerate tornado; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore tornado's own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
