"""aiohttp: the masking function ``websocket_mask(mask, data) -> None`` (in place).

aiohttp's client masks every frame it sends in ``WebSocketWriter._write_websocket_frame``
with ``websocket_mask`` looked up in ``aiohttp._websocket.writer``; its pure-Python
reader (``reader_py``, used with ``AIOHTTP_NO_EXTENSIONS``) unmasks with the name in
``aiohttp._websocket.reader_py``. Both names are replaced.

Only replaced where aiohttp masks in pure Python (``AIOHTTP_NO_EXTENSIONS``, or no
compiled wheel): against its compiled masker the replacement was measured not to pay.

Kept exactly as aiohttp does it: ``data`` (a ``bytearray``) is masked in place and
``None`` is returned; anything else than a ``bytes`` key of 4 bytes and a ``bytearray``
goes to aiohttp's own function, so its ``TypeError``/``AssertionError`` stay its own.

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


class AiohttpIntegration(Integration):
    name = "aiohttp"
    module = "aiohttp"
    dist = "aiohttp"
    tested = ("3.14.5",)
    series = ((3, 14),)

    def patches(self):
        from aiohttp._websocket import helpers, reader_py, writer

        out = []
        for module, dotted in (
            (writer, "aiohttp._websocket.writer.websocket_mask"),
            (reader_py, "aiohttp._websocket.reader_py.websocket_mask"),
        ):
            current = module.websocket_mask
            # Measured: against aiohttp's compiled (Cython) in-place masker the
            # replacement does not pay (0.8-1.0x on the send path: the extra call layer
            # costs what the wider SIMD saves); against its pure-Python masker
            # (AIOHTTP_NO_EXTENSIONS, PyPy, no wheel) it does. So only the latter is
            # replaced, unless forced.
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
