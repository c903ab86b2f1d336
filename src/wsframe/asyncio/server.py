"""The server: ``serve(handler, host, port, **options)``."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, Iterable, Optional, Sequence, Set

from .. import deflate, handshake
from .._errors import HandshakeError
from .connection import Connection, State
from .exceptions import ConnectionClosed
from .http import Request, Response
from .options import Options

__all__ = ["serve", "Server", "ServerConnection"]

logger = logging.getLogger("wsframe.asyncio")

Handler = Callable[["ServerConnection"], Awaitable[Any]]


class ServerConnection(Connection):
    """The server side of a connection (see :class:`Connection`); ``request`` holds the
    client's opening handshake."""

    role = "server"

    def __init__(self, server: "Server") -> None:
        super().__init__(server._options, server._loop)
        self._server = server
        self._head = bytearray()
        self._open_timer: Optional[asyncio.TimerHandle] = None
        self._handler_task: Optional[asyncio.Task] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server._connections.add(self)
        if self._options.open_timeout is not None:
            self._open_timer = self._loop.call_later(self._options.open_timeout, self._abort)

    def _connection_ended(self) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
        self._server._connections.discard(self)

    # -- the opening handshake ----------------------------------------------------------

    def _head_received(self, data: bytes) -> None:
        if self.request is not None:  # waiting for process_request: keep what follows
            self._head += data
            return
        start = max(0, len(self._head) - 3)
        self._head += data
        end = self._head.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self._head) > handshake.MAX_HEAD_SIZE:
                self._reject(431, "request head larger than %d bytes" % handshake.MAX_HEAD_SIZE)
            return
        head = bytes(self._head[: end + 4])
        del self._head[: end + 4]
        try:
            method, target, headers = handshake.parse_request(head)
            key = handshake.check_request(method, headers)
        except HandshakeError as exc:
            self._reject(getattr(exc, "status", 400), str(exc))
            return
        self.request = request = Request(target, headers)
        server = self._server
        if server.origins is not None:
            origin = request.get("Origin")
            if origin not in server.origins:
                self._reject(403, "origin %s is not allowed" % (origin or "(none)"))
                return
        if server.process_request is None:
            self._accept(key)
            return
        try:
            result = server.process_request(self, request)
        except Exception:
            logger.exception("process_request failed")
            self._reject(500, "internal server error")
            return
        if inspect.isawaitable(result):
            self.transport.pause_reading()  # type: ignore[union-attr]
            self._handler_task = self._loop.create_task(self._process_later(result, key))
        else:
            self._after_process_request(result, key)

    async def _process_later(self, result: Awaitable[Optional[Response]], key: str) -> None:
        try:
            response = await result
        except Exception:
            logger.exception("process_request failed")
            self._reject(500, "internal server error")
            return
        if self.state is State.CLOSED:
            return
        self.transport.resume_reading()  # type: ignore[union-attr]
        self._after_process_request(response, key)

    def _after_process_request(self, response: Optional[Response], key: str) -> None:
        if response is None:
            self._accept(key)
        elif isinstance(response, Response):
            self.transport.write(response.to_bytes())  # type: ignore[union-attr]
            self.transport.close()  # type: ignore[union-attr]
        else:
            logger.error("process_request must return None or a Response, not %r", response)
            self._reject(500, "internal server error")

    def _reject(self, status: int, reason: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(handshake.build_error_response(status, reason))
        transport.close()

    def _accept(self, key: str) -> None:
        server = self._server
        request = self.request
        assert request is not None
        try:
            offered = handshake.parse_subprotocols(request.get_all("Sec-WebSocket-Protocol"))
        except HandshakeError:
            offered = []  # absent (or empty): nothing offered
        subprotocol = None
        if server.select_subprotocol is not None:
            try:
                subprotocol = server.select_subprotocol(self, offered)
            except Exception:
                logger.exception("select_subprotocol failed")
                self._reject(500, "internal server error")
                return
            if subprotocol is not None and subprotocol not in offered:
                logger.error("select_subprotocol returned %r, not offered", subprotocol)
                self._reject(500, "internal server error")
                return
        elif server.subprotocols:
            for candidate in server.subprotocols:  # the server's order of preference
                if candidate in offered:
                    subprotocol = candidate
                    break
        extension = value = None
        settings = self._options.compression
        if settings is not None:
            offer = ", ".join(request.get_all("Sec-WebSocket-Extensions"))
            extension, value = deflate.server_negotiate(
                offer or None,
                server_no_context_takeover=settings.server_no_context_takeover,
                client_no_context_takeover=settings.client_no_context_takeover,
                server_max_window_bits=settings.server_max_window_bits,
                client_max_window_bits=settings.client_max_window_bits,
                **settings.local_options(),
            )
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        self.transport.write(  # type: ignore[union-attr]
            handshake.build_response(key, subprotocol=subprotocol, extensions=value)
        )
        leftover = bytes(self._head)
        self._head = bytearray()
        self._open(extension, subprotocol, leftover)
        if self.state is not State.CLOSED:
            self._handler_task = self._loop.create_task(self._run_handler())
            server._handler_tasks.add(self._handler_task)
            self._handler_task.add_done_callback(server._handler_tasks.discard)

    async def _run_handler(self) -> None:
        try:
            await self._server.handler(self)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            self._abort()
            raise
        except Exception:
            logger.exception("connection handler failed")
            if self.state is State.OPEN:
                await self.close(1011, "internal error")
        if self.state is State.OPEN:
            await self.close(1000)
        else:
            await self.wait_closed()


class Server:
    """A listening WebSocket server (from :func:`serve`).

    ``sockets`` are the listening sockets; ``await serve_forever()``; ``close()`` stops
    accepting, sends 1001 (going away) to every open connection and, with
    ``await wait_closed()``, waits at most ``close_timeout`` for them to close before
    aborting the rest.
    """

    def __init__(
        self,
        handler: Handler,
        options: Options,
        origins: Optional[Sequence[Optional[str]]],
        subprotocols: Optional[Sequence[str]],
        select_subprotocol: Optional[Callable[[ServerConnection, list], Optional[str]]],
        process_request: Optional[Callable[[ServerConnection, Request], Any]],
    ) -> None:
        self.handler = handler
        self.origins = None if origins is None else frozenset(origins)
        self.subprotocols = list(subprotocols or ())
        self.select_subprotocol = select_subprotocol
        self.process_request = process_request
        self._options = options
        self._loop = asyncio.get_running_loop()
        self._server: Optional[asyncio.base_events.Server] = None
        self._connections: Set[ServerConnection] = set()
        self._handler_tasks: Set[asyncio.Task] = set()
        self._closing: Optional[asyncio.Task] = None

    @property
    def sockets(self) -> tuple:
        return tuple(self._server.sockets) if self._server is not None else ()

    @property
    def connections(self) -> Set[ServerConnection]:
        """The connections accepted and not yet closed."""
        return set(self._connections)

    async def serve_forever(self) -> None:
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            self.close()
            await self.wait_closed()
            raise

    def close(self, close_connections: bool = True) -> None:
        """Stop accepting; close every connection with 1001 unless ``close_connections``
        is False. Returns at once; ``await wait_closed()`` for the end."""
        if self._closing is None:
            self._closing = self._loop.create_task(self._shutdown(close_connections))

    async def wait_closed(self) -> None:
        if self._closing is not None:
            await asyncio.shield(self._closing)
        elif self._server is not None:
            await self._server.wait_closed()

    async def _shutdown(self, close_connections: bool) -> None:
        assert self._server is not None
        self._server.close()
        if close_connections:
            for conn in list(self._connections):
                if conn.state is State.OPEN:
                    conn._send_close_frame(1001, "server shutting down")
                    conn.state = State.CLOSING
                    conn._flush()
                elif conn.state is State.CONNECTING:
                    conn._abort()
        pending = [conn._closed for conn in self._connections] + list(self._handler_tasks)
        if pending:
            await asyncio.wait(pending, timeout=self._options.close_timeout)
        for conn in list(self._connections):
            conn._abort()
        tasks = list(self._handler_tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=self._options.close_timeout)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()
        await self.wait_closed()


class serve:
    """Start a WebSocket server; ``handler(conn)`` runs once per connection.

    Usable as ``server = await serve(...)`` or ``async with serve(...) as server``::

        import asyncio
        from wsframe.asyncio import serve

        async def echo(conn):
            async for message in conn:
                await conn.send(message)

        async def main():
            async with serve(echo, "127.0.0.1", 8765) as server:
                await server.serve_forever()

        asyncio.run(main())

    Server options: ``origins`` (allowed ``Origin`` values, ``None`` in the list allows a
    request without one; others get HTTP 403), ``subprotocols`` (the server's, in order
    of preference) or ``select_subprotocol(conn, offered) -> str | None``,
    ``process_request(conn, request) -> None | Response`` (may be async; a
    :class:`Response` refuses the upgrade), ``ssl`` (an ``ssl.SSLContext``),
    ``reuse_port``, ``backlog``, ``sock`` (an already bound socket).

    Connection options (also those of :func:`connect`): ``max_message_size`` (bytes,
    default 1 MiB; larger: close 1009), ``compression`` (None, ``"deflate"`` or a
    :class:`Deflate`), ``ping_interval``/``ping_timeout`` (seconds or None, default
    20/20: a peer that does not answer a ping in time is closed with 1011 and aborted),
    ``close_timeout`` (default 10), ``open_timeout`` (handshake, default 10),
    ``write_limit`` (high mark or ``(high, low)``, default 1 MiB and a quarter of it),
    ``read_limit`` (bytes of received messages not yet taken by ``recv`` before reading
    pauses, default 4 MiB).
    """

    def __init__(
        self,
        handler: Handler,
        host: Optional[str] = None,
        port: Optional[int] = None,
        *,
        origins: Optional[Iterable[Optional[str]]] = None,
        subprotocols: Optional[Iterable[str]] = None,
        select_subprotocol: Optional[Callable[[ServerConnection, list], Optional[str]]] = None,
        process_request: Optional[Callable[[ServerConnection, Request], Any]] = None,
        ssl: Any = None,
        reuse_port: Optional[bool] = None,
        backlog: int = 100,
        sock: Any = None,
        **options: Any,
    ) -> None:
        if not callable(handler):
            raise TypeError("handler must be an async function taking the connection")
        self._handler = handler
        self._host = host
        self._port = port
        self._origins = None if origins is None else list(origins)
        self._subprotocols = None if subprotocols is None else list(subprotocols)
        for item in self._subprotocols or ():
            if not isinstance(item, str) or not handshake._is_token(item):
                raise ValueError("subprotocol %r is not an HTTP token" % (item,))
        self._select_subprotocol = select_subprotocol
        self._process_request = process_request
        self._ssl = ssl
        self._reuse_port = reuse_port
        self._backlog = backlog
        self._sock = sock
        self._options = Options(**options)
        self._server: Optional[Server] = None

    async def _start(self) -> Server:
        server = Server(
            self._handler,
            self._options,
            self._origins,
            self._subprotocols,
            self._select_subprotocol,
            self._process_request,
        )
        loop = asyncio.get_running_loop()
        kwargs: dict = {"ssl": self._ssl, "backlog": self._backlog}
        if self._reuse_port is not None:
            kwargs["reuse_port"] = self._reuse_port
        if self._sock is not None:
            kwargs["sock"] = self._sock
        server._server = await loop.create_server(
            lambda: ServerConnection(server), self._host, self._port, **kwargs
        )
        self._server = server
        return server

    def __await__(self) -> Any:
        return self._start().__await__()

    async def __aenter__(self) -> Server:
        return await self._start()

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
