"""Exceptions and the opcode enum, shared by both implementations.

Kept in a plain module (never compiled) so that ``wsframe.ProtocolError`` is one class
whichever implementation raised it.
"""

import enum

__all__ = ["Opcode", "ProtocolError", "HandshakeError"]


class Opcode(enum.IntEnum):
    """RFC 6455 section 5.2 opcodes."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class ProtocolError(ValueError):
    """The peer broke the protocol; ``code`` is the close code to send back.

    ``reason`` is a short sentence that says what was wrong, fit to send in the close
    frame (it is always at most 123 bytes of UTF-8).
    """

    #: True when a failed decoder's ``feed`` raises its earlier error again.
    replay = False

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        if self.replay:
            return "%d: %s (a replay of the earlier error: this decoder failed before and "\
                "stays failed)" % (self.code, self.reason)
        return "%d: %s" % (self.code, self.reason)

    def __reduce__(self):
        return (type(self), (self.code, self.reason))


class HandshakeError(ValueError):
    """An opening handshake request or response does not follow RFC 6455 section 4."""
