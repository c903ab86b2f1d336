"""autobahn: the XOR masker factory and the incremental UTF-8 validator.

autobahn's receive path unmasks every frame through ``create_xor_masker(mask, length)``
and validates every text chunk through ``Utf8Validator().validate(chunk)``; its send path
masks through the same factory. With NVX (autobahn's CFFI extension) each masker call
crosses CFFI and copies twice, and the "SIMD" validator walks a byte table; without NVX
both are byte-at-a-time Python loops.

Replaced (in ``autobahn.websocket.protocol``, where the protocol looks them up, and in
the modules that define them):

* ``create_xor_masker(mask, length=None)`` returns a masker with autobahn's interface:
  ``process(data) -> bytes`` (a new buffer; the position in the key carries over from
  one call to the next), ``pointer()`` (bytes processed so far), ``reset()``.
* ``Utf8Validator``: ``validate(chunk)`` returns autobahn's quad ``(valid,
  ends_on_codepoint, current_index, total_index)``: on the first impossible byte,
  ``current_index`` is its offset in the chunk and ``total_index`` in the whole stream,
  exactly as autobahn's DFA reports it; ``reset()`` starts a new text. Once invalid it
  stays invalid until ``reset()`` (autobahn's pure-Python validator does the same; its NVX
  one restarts silently, which autobahn's protocol never relies on: it fails the
  connection at the first invalid chunk).
"""

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION", "XorMasker", "Utf8Validator"]


class XorMasker:
    """autobahn's masker interface over ``wsframe.apply_mask``."""

    __slots__ = ("_mask", "_ptr")

    def __init__(self, mask):
        assert len(mask) == 4, "Mask must be exactly 4 bytes"
        self._mask = bytes(mask)
        self._ptr = 0

    def pointer(self):
        return self._ptr

    def reset(self):
        self._ptr = 0

    def process(self, data):
        out = _apply_mask(data, self._mask, self._ptr & 3)
        self._ptr += len(out)
        return out


_apply_mask = _wsf.apply_mask


def create_xor_masker(mask, length=None):
    """Return a masker for ``mask`` (``length`` is accepted and, as with NVX, unused)."""
    return XorMasker(mask)


class Utf8Validator:
    """autobahn's incremental validator interface over ``wsframe.Utf8Validator``."""

    __slots__ = ("_v", "_index")

    def __init__(self):
        self._v = _wsf.Utf8Validator()
        self._index = 0

    def reset(self):
        self._v.reset()
        self._index = 0

    def validate(self, ba):
        v = self._v
        if not len(ba):
            # autobahn's DFA loop does not run: "valid" even after a failure.
            return True, v.complete, 0, self._index
        if v.feed(ba):
            n = len(ba)
            self._index += n
            return True, v.complete, n, self._index
        offset = v.error_offset
        current = offset - self._index
        self._index = offset
        return False, False, current, offset


class AutobahnIntegration(Integration):
    name = "autobahn"
    module = "autobahn"
    dist = "autobahn"
    # xormasker.py and utf8validator.py are the same from 25.9.1 (October 2025) to
    # 26.11.1, and so are the protocol's calls to them.
    tested = ("25.9.1", "25.12.2", "26.11.1")
    minimum = (25, 9)
    below = (26, 12)

    def patches(self):
        import autobahn.websocket.protocol as protocol
        import autobahn.websocket.utf8validator as utf8validator
        import autobahn.websocket.xormasker as xormasker

        return [
            (
                protocol,
                "create_xor_masker",
                create_xor_masker,
                "autobahn.websocket.protocol.create_xor_masker",
            ),
            (
                xormasker,
                "create_xor_masker",
                create_xor_masker,
                "autobahn.websocket.xormasker.create_xor_masker",
            ),
            (
                protocol,
                "Utf8Validator",
                Utf8Validator,
                "autobahn.websocket.protocol.Utf8Validator",
            ),
            (
                utf8validator,
                "Utf8Validator",
                Utf8Validator,
                "autobahn.websocket.utf8validator.Utf8Validator",
            ),
        ]


INTEGRATION = AutobahnIntegration()


def install(force=False):
    """Accelerate autobahn; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore autobahn's own masker and validator; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
