"""Exceptions of :mod:`wsframe.asyncio`."""

from __future__ import annotations

from .._errors import HandshakeError

__all__ = ["ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError", "InvalidStatus"]

#: Close codes that end a connection normally (``async for`` ends quietly on them).
OK_CODES = frozenset((1000, 1001))


class ConnectionClosed(Exception):
    """The connection is closed (or closing): no more messages to receive or send.

    ``code`` and ``reason`` are the connection's ``close_code`` and ``close_reason``.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return "connection closed with code %d%s" % (
            self.code,
            " (%s)" % self.reason if self.reason else "",
        )


class ConnectionClosedOK(ConnectionClosed):
    """Closed with 1000 (normal) or 1001 (going away)."""


class ConnectionClosedError(ConnectionClosed):
    """Closed with any other code: a protocol error, an abnormal closure (1006), ..."""


def closed_error(code: int, reason: str) -> ConnectionClosed:
    cls = ConnectionClosedOK if code in OK_CODES else ConnectionClosedError
    return cls(code, reason)


class InvalidStatus(HandshakeError):
    """The server answered the opening handshake with an HTTP status other than 101.

    ``status`` is that status (403 for a rejected origin, ...), ``body`` the response body
    read so far (at most what arrived with the head).
    """

    def __init__(self, status: int, body: bytes = b"") -> None:
        super().__init__("server rejected the WebSocket connection: HTTP %d" % status)
        self.status = status
        self.body = body
