"""Fixtures of the wsframe.asyncio tests: every test runs in its own event loop (asyncio's
default one, and uvloop where installed), bounded in time, with the connection's codec
pointed at the implementation under test (``impl``)."""

import asyncio
import socket

import pytest

from wsframe.asyncio import connection

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

TIMEOUT = 30  # seconds any one test may take


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_factory(request):
    if request.param == "uvloop":
        if uvloop is None:
            pytest.skip("uvloop is not installed")
        return uvloop.new_event_loop
    return asyncio.new_event_loop


@pytest.fixture
def run(impl, loop_factory):
    """run(coroutine_function, *args) in a fresh loop, with the codec of ``impl``."""
    previous = connection.set_codec(impl)

    def runner(fn, *args, timeout=TIMEOUT):
        loop = loop_factory()
        try:
            return loop.run_until_complete(asyncio.wait_for(fn(*args), timeout))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    yield runner
    connection.set_codec(previous)


@pytest.fixture
def run_default(impl):
    """Like ``run``, on asyncio's default loop only (for the long parametrized tests)."""
    previous = connection.set_codec(impl)

    def runner(fn, *args, timeout=TIMEOUT):
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(asyncio.wait_for(fn(*args), timeout))
        finally:
            loop.close()

    yield runner
    connection.set_codec(previous)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_of(server):
    return server.sockets[0].getsockname()[1]


HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def raw_client(port, rcvbuf=None):
    """A client that completes the handshake by hand and then does what the test says."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(HANDSHAKE)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer
