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
    """An opening handshake request or response does not follow RFC 6455 section 4.

    ``status`` is the HTTP status a server answers a bad request with: 400 unless a
    better one applies (405 wrong method, 426 wrong version, 431 head too large, 505
    HTTP version below 1.1). It is set on every instance, also on errors about a
    response (where a client has nothing to answer and ignores it).
    """

    status: int = 400

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self):
        return (type(self), (str(self), self.status))
