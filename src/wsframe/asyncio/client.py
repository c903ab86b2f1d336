"""The client: ``connect(uri, **options)``, with optional reconnection."""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from typing import Any, AsyncIterator, Collection, Iterable, Optional, Tuple, Union
from urllib.parse import urlsplit

from .. import deflate, handshake
from .._errors import HandshakeError, ProtocolError
from .backoff import Backoff
from .connection import Connection, State
from .exceptions import InvalidStatus
from .http import Request
from .options import Options

__all__ = ["connect", "ClientConnection", "RETRY_CODES"]

logger = logging.getLogger("wsframe.asyncio")

#: Close codes after which ``async for conn in connect(..., reconnect=True)`` reconnects:
#: going away (1001), abnormal closure (1006), internal error (1011), service restart
#: (1012), try again later (1013). Never 1008 (policy violation).
RETRY_CODES = frozenset((1001, 1006, 1011, 1012, 1013))


class ClientConnection(Connection):
    """The client side of a connection (see :class:`Connection`); ``request`` is the
    request we sent, ``response_headers`` the server's 101 headers."""

    role = "client"

    def __init__(
        self,
        options: Options,
        request: Request,
        head: bytes,
        key: str,
        offer: Optional[str],
        subprotocols: Collection[str],
    ) -> None:
        super().__init__(options)
        self.request = request
        self.response_headers: list = []
        self._request_head = head
        self._key = key
        self._offer = offer
        self._subprotocols = subprotocols
        self._head = bytearray()
        self._opened: asyncio.Future = self._loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.write(self._request_head)  # type: ignore[attr-defined]

    def _connection_ended(self) -> None:
        if not self._opened.done():
            self._opened.set_exception(
                ConnectionResetError("connection closed during the opening handshake")
            )

    def _handshake_failed(self, exc: BaseException) -> None:
        if not self._opened.done():
            self._opened.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def _head_received(self, data: bytes) -> None:
        if self._opened.done():
            return
        start = max(0, len(self._head) - 3)
        self._head += data
        end = self._head.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self._head) > handshake.MAX_HEAD_SIZE:
                self._handshake_failed(HandshakeError("response head too large"))
            return
        head = bytes(self._head[: end + 4])
        leftover = bytes(self._head[end + 4 :])
        self._head = bytearray()
        try:
            status, _reason, headers = handshake.parse_response(head)
            if status != 101:
                raise InvalidStatus(status, leftover)
            handshake.check_response(status, headers, self._key)
            subprotocol = None
            chosen = handshake.header_values(headers, "Sec-WebSocket-Protocol")
            if chosen:
                if len(chosen) != 1 or chosen[0] not in self._subprotocols:
                    raise HandshakeError(
                        "server chose subprotocol %s, not one of those offered (%s)"
                        % (", ".join(chosen), ", ".join(self._subprotocols) or "none")
                    )
                subprotocol = chosen[0]
            response = ", ".join(handshake.header_values(headers, "Sec-WebSocket-Extensions"))
            extension = None
            if self._offer is not None:
                settings = self._options.compression
                extension = deflate.client_accept(
                    self._offer, response or None, **settings.local_options()  # type: ignore[union-attr]
                )
            elif response:
                raise ProtocolError(1010, "server accepted extensions that were not offered")
        except ProtocolError as exc:
            self._handshake_failed(HandshakeError("%s (close code %d)" % (exc.reason, exc.code)))
            return
        except HandshakeError as exc:
            self._handshake_failed(exc)
            return
        self.response_headers = headers
        self._open(extension, subprotocol, b"")
        self._opened.set_result(None)
        if leftover:
            self._frames_received(leftover)


class connect:
    """Open a WebSocket connection to ``uri`` (``ws://`` or ``wss://``).

    ``await connect(uri)`` returns the connection; ``async with connect(uri) as conn``
    closes it at the end; ``async for conn in connect(uri, reconnect=True)`` yields a new
    connection each time the previous one ended with a close code of ``retry_codes``
    (default :data:`RETRY_CODES`) or could not be opened (connection refused, reset,
    timeout, HTTP 5xx), waiting an exponential backoff with full jitter between attempts
    (``reconnect=Backoff(initial, factor, maximum)`` to tune it). It ends when a
    connection closes with another code; HTTP 4xx (e.g. 403) raises :class:`InvalidStatus`
    and is never retried::

        async for conn in connect("ws://127.0.0.1:8765/feed", reconnect=True):
            try:
                async for message in conn:
                    print(message)
            except ConnectionClosed:
                continue  # reconnect

    Client options: ``subprotocols`` (offered), ``origin``, ``additional_headers``,
    ``ssl`` (an ``ssl.SSLContext``; wss:// uses the default context when omitted),
    ``server_hostname``; the connection options are those of :func:`serve`
    (``compression="deflate"`` offers permessage-deflate with the :class:`Deflate`
    settings).
    """

    def __init__(
        self,
        uri: str,
        *,
        subprotocols: Optional[Iterable[str]] = None,
        origin: Optional[str] = None,
        additional_headers: Iterable[Tuple[str, str]] = (),
        ssl: Any = None,
        server_hostname: Optional[str] = None,
        reconnect: Union[bool, Backoff] = False,
        retry_codes: Collection[int] = RETRY_CODES,
        **options: Any,
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError("uri must be ws://host[:port]/path or wss://..., not %r" % (uri,))
        secure = parts.scheme == "wss"
        if ssl is not None and not secure:
            raise ValueError("ssl is for wss:// URIs; %r is ws://" % (uri,))
        self._host = parts.hostname
        self._port = parts.port or (443 if secure else 80)
        self._path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        host = "[%s]" % self._host if ":" in self._host else self._host
        if self._port != (443 if secure else 80):
            host = "%s:%d" % (host, self._port)
        self._host_header = host
        self._ssl = ssl if ssl is not None else (ssl_module.create_default_context() if secure else None)
        self._server_hostname = server_hostname
        self._subprotocols = list(subprotocols or ())
        headers = list(additional_headers)
        if origin is not None:
            headers.append(("Origin", origin))
        self._extra_headers = headers
        self._options = Options(**options)
        settings = self._options.compression
        self._offer = None
        if settings is not None:
            self._offer = deflate.client_offer(
                server_no_context_takeover=settings.server_no_context_takeover,
                client_no_context_takeover=settings.client_no_context_takeover,
                server_max_window_bits=settings.server_max_window_bits,
                client_max_window_bits=(
                    True if settings.client_max_window_bits is None else settings.client_max_window_bits
                ),
            )
        if reconnect is True:
            reconnect = Backoff()
        self._backoff: Optional[Backoff] = reconnect or None
        self._retry_codes = frozenset(retry_codes)
        self._connection: Optional[ClientConnection] = None

    async def _open(self) -> ClientConnection:
        head, key = handshake.build_request(
            self._host_header,
            self._path,
            subprotocols=self._subprotocols,
            extensions=self._offer,
            extra_headers=self._extra_headers,
        )
        request = Request(self._path, handshake.parse_request(head)[2])
        loop = asyncio.get_running_loop()
        kwargs: dict = {}
        if self._ssl is not None:
            kwargs["ssl"] = self._ssl
            kwargs["server_hostname"] = self._server_hostname or self._host
        conns: list = []

        def factory() -> ClientConnection:
            conn = ClientConnection(
                self._options, request, head, key, self._offer, self._subprotocols
            )
            conns.append(conn)
            return conn

        async def opening() -> ClientConnection:
            await loop.create_connection(factory, self._host, self._port, **kwargs)
            await conns[0]._opened
            return conns[0]

        try:
            return await asyncio.wait_for(opening(), self._options.open_timeout)
        except BaseException:
            for conn in conns:
                if conn.transport is not None:
                    conn.transport.abort()
            raise

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> ClientConnection:
        self._connection = await self._open()
        return self._connection

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._connection is not None
        await self._connection.close()

    def __aiter__(self) -> AsyncIterator[ClientConnection]:
        return self._reconnecting()

    def _retryable_error(self, exc: BaseException) -> bool:
        if isinstance(exc, InvalidStatus):
            return 500 <= exc.status <= 599
        return isinstance(exc, (OSError, asyncio.TimeoutError, EOFError))

    async def _reconnecting(self) -> AsyncIterator[ClientConnection]:
        backoff = self._backoff or Backoff()
        attempt = 0
        while True:
            try:
                conn = await self._open()
            except Exception as exc:
                if self._backoff is None or not self._retryable_error(exc):
                    raise
                logger.info("connecting to %s failed (%s); retrying", self._host_header, exc)
                await backoff.wait(attempt)
                attempt += 1
                continue
            attempt = 0
            try:
                yield conn
            finally:
                if conn.state is not State.CLOSED:
                    await conn.close()
            if self._backoff is None or conn.close_code not in self._retry_codes:
                return
            logger.info("connection closed with %s; reconnecting", conn.close_code)
            await backoff.wait(attempt)
            attempt += 1
