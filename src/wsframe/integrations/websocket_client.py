"""websocket-client: masking (``ABNF.mask``) and UTF-8 validation (``_validate_utf8``).

websocket-client masks with wsaccel when it is installed (unmaintained, no wheels past
Python 3.12) and otherwise with a big-integer XOR after two ``array.array`` copies; it
validates text with wsaccel or a pure-Python byte-at-a-time DFA.

Kept exactly as the library does it:

* ``ABNF.mask(mask_key, data) -> bytes``: ``None`` data is empty, ``str`` key and data
  are Latin-1 encoded; anything else than a 4-byte key or a bytes-like payload goes to the
  library's own function, so its errors stay its own.
* ``validate_utf8`` is *lax* about the end: both of websocket-client's validators answer
  ``True`` for text cut inside a character (``b"\\xe2\\x82"``), rejecting only a byte
  that makes the text impossible. The replacement keeps that answer, not wsframe's
  stricter ``validate_utf8``.
"""

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION"]

_BYTESLIKE = (bytes, bytearray, memoryview)


def _make_mask(original):
    apply_mask = _wsf.apply_mask

    def mask(mask_key, data):
        """Mask or unmask data. Just do xor for each byte (wsframe-backed)."""
        if data is None:
            data = ""
        if isinstance(mask_key, str):
            mask_key = mask_key.encode("latin-1")
        if isinstance(data, str):
            data = data.encode("latin-1")
        if (
            type(mask_key) in _BYTESLIKE
            and type(data) in _BYTESLIKE
            and len(mask_key) == 4
        ):
            return apply_mask(data, mask_key)
        return original(mask_key, data)

    mask.__wrapped__ = original
    return mask


def _make_validate(original):
    validate_utf8 = _wsf.validate_utf8
    Utf8Validator = _wsf.Utf8Validator

    def _validate_utf8(utfbytes):
        if type(utfbytes) not in _BYTESLIKE:
            return original(utfbytes)
        # Complete and valid is the common case; otherwise the library accepts a
        # text that is only cut short, and rejects one with an impossible byte.
        return validate_utf8(utfbytes) or Utf8Validator().feed(utfbytes)

    _validate_utf8.__wrapped__ = original
    return _validate_utf8


class WebsocketClientIntegration(Integration):
    name = "websocket_client"
    module = "websocket"
    dist = "websocket-client"
    # ABNF.mask and _validate_utf8 are the same from 1.8.0 to 1.9.2.
    tested = ("1.8.0", "1.9.0", "1.9.2")
    minimum = (1, 8)
    below = (1, 10)

    def patches(self):
        from websocket import _abnf, _utils

        orig_mask = _abnf.ABNF.__dict__["mask"].__func__
        return [
            (
                _abnf.ABNF,
                "mask",
                staticmethod(_make_mask(orig_mask)),
                "websocket._abnf.ABNF.mask",
            ),
            (
                _utils,
                "_validate_utf8",
                _make_validate(_utils._validate_utf8),
                "websocket._utils._validate_utf8",
            ),
        ]


INTEGRATION = WebsocketClientIntegration()


def install(force=False):
    """Accelerate websocket-client; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore websocket-client's own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
