"""websockets: ``apply_mask(data, mask) -> bytes`` in ``websockets.frames``.

Only replaced where websockets masks in pure Python (``websockets.utils.apply_mask``, a
big-integer XOR: no compiled ``websockets.speedups``, e.g. a source install or PyPy).
Against its compiled masker (``websockets.speedups``, SSE2/NEON 16 bytes at a time) the
replacement was measured not to pay: the same speed at 64 KiB (a copy into a new
``bytes`` is bound by allocation and the cache, not by the SIMD width) and 30-40 ns
slower per call below that (one more Python call layer): 0.88-0.96x on the thread's CPU
time of websockets' own receive and send paths (docs/integrations/websockets.md).
``install(force=True)`` replaces it anyway.

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
        from websockets import frames, utils

        modules = [(frames, "websockets.frames.apply_mask")]
        legacy = sys.modules.get("websockets.legacy.framing")
        if legacy is not None and hasattr(legacy, "apply_mask"):
            modules.append((legacy, "websockets.legacy.framing.apply_mask"))
        out = []
        for module, dotted in modules:
            current = module.apply_mask
            # Measured: against websockets' compiled masker (websockets.speedups) the
            # replacement does not pay; against its pure-Python one it does. So only
            # the latter is replaced, unless forced.
            if current is utils.apply_mask or self.forced:
                out.append((module, "apply_mask", _make_mask(current), dotted))
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
