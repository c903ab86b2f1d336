"""wsproto: the frame masker ``frame_protocol.XorMaskerSimple``.

wsproto unmasks every received frame and masks every frame a client sends with
``XorMaskerSimple(key).process(data)``, four ``bytearray.translate`` passes over strided
slices (about 18 copies' worth of memory traffic).

The replacement keeps wsproto's contract exactly: ``process(data)`` returns a *new*
``bytearray`` (an empty one for empty data), and the key rotates by ``len(data) % 4`` after
each call so that the next chunk of the same frame continues where this one stopped;
``_masking_key`` holds the rotated key, as in wsproto.
"""

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION", "XorMaskerSimple"]

_apply_mask_inplace = _wsf.apply_mask_inplace


class XorMaskerSimple:
    """wsproto's ``XorMaskerSimple`` over ``wsframe.apply_mask_inplace``."""

    def __init__(self, masking_key):
        self._masking_key = masking_key

    def process(self, data):
        data = bytearray(data)
        if data:
            key = self._masking_key
            _apply_mask_inplace(data, key)
            rotation = len(data) & 3
            if rotation:
                self._masking_key = key[rotation:] + key[:rotation]
        return data


class WsprotoIntegration(Integration):
    name = "wsproto"
    module = "wsproto"
    dist = "wsproto"
    tested = ("1.3.2",)
    series = ((1, 3),)

    def patches(self):
        from wsproto import frame_protocol

        return [
            (
                frame_protocol,
                "XorMaskerSimple",
                XorMaskerSimple,
                "wsproto.frame_protocol.XorMaskerSimple",
            ),
        ]


INTEGRATION = WsprotoIntegration()


def install(force=False):
    """Accelerate wsproto; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore wsproto's own masker; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
