"""websockets: ``apply_mask(data, mask) -> bytes`` in ``websockets.frames``.

websockets already masks in C (``websockets.speedups``, SSE2/NEON 16 bytes at a time);
wsframe's AVX2/AVX-512 paths are wider.

Kept exactly as websockets does it: a new ``bytes`` is returned; anything else than a
``bytes``/``bytearray`` payload and a ``bytes``/``bytearray`` key of 4 bytes goes to
websockets' own function, so the ``TypeError``/``ValueError`` raised stay websockets'.
``websockets.legacy.framing`` gets the same replacement when it is already imported
(importing it ourselves would emit websockets' deprecation warning).
"""

import sys

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION"]

_BYTES = (bytes, bytearray)


def _make_mask(original):
    wsf_apply_mask = _wsf.apply_mask

    def apply_mask(data, mask):
        if type(data) in _BYTES and type(mask) in _BYTES and len(mask) == 4:
            return wsf_apply_mask(data, mask)
        return original(data, mask)

    apply_mask.__wrapped__ = original
    return apply_mask


class WebsocketsIntegration(Integration):
    name = "websockets"
    module = "websockets"
    dist = "websockets"
    tested = ("17.4",)
    series = ((17,),)

    def patches(self):
        from websockets import frames

        out = [
            (
                frames,
                "apply_mask",
                _make_mask(frames.apply_mask),
                "websockets.frames.apply_mask",
            )
        ]
        legacy = sys.modules.get("websockets.legacy.framing")
        if legacy is not None and hasattr(legacy, "apply_mask"):
            out.append(
                (
                    legacy,
                    "apply_mask",
                    _make_mask(legacy.apply_mask),
                    "websockets.legacy.framing.apply_mask",
                )
            )
        return out


INTEGRATION = WebsocketsIntegration()


def install(force=False):
    """Accelerate websockets; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore websockets' own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
