"""Server and client options: TLS, origins, subprotocols, process_request, limits."""

import asyncio
import ssl

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.asyncio.server import serve as ws_serve  # noqa: E402

from wsframe.asyncio import InvalidStatus, Response, connect, serve  # noqa: E402

from .conftest import port_of  # noqa: E402

pytestmark = pytest.mark.interop


async def echo(conn):
    async for message in conn:
        await conn.send(message)


def test_tls_both_ways(run):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def scenario():
        async with serve(echo, "127.0.0.1", 0, ssl=server_ctx) as server:
            url = "wss://127.0.0.1:%d/" % port_of(server)
            async with connect(url, ssl=client_ctx) as conn:
                await conn.send("secret")
                assert await conn.recv() == "secret"
                big = b"z" * 300000
                await conn.send(big)
                assert await conn.recv() == big
            async with ws_connect(url, ssl=client_ctx) as ws:
                await ws.send(b"over tls")
                assert await ws.recv() == b"over tls"
            with pytest.raises(ssl.SSLError):  # an untrusted certificate is refused
                await connect(url)

    run(scenario)


def test_origins(run):
    async def scenario():
        origins = ["https://good.example", None]
        async with serve(echo, "127.0.0.1", 0, origins=origins) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            with pytest.raises(websockets.InvalidStatus) as info:
                await ws_connect(url, origin="https://evil.example")
            assert info.value.response.status_code == 403
            with pytest.raises(InvalidStatus) as ours:
                await connect(url, origin="https://evil.example")
            assert ours.value.status == 403
            async with ws_connect(url, origin="https://good.example") as ws:
                await ws.send("ok")
                assert await ws.recv() == "ok"
            async with connect(url) as conn:  # no Origin: allowed because None is listed
                await conn.send("ok")
                assert await conn.recv() == "ok"
        async with serve(echo, "127.0.0.1", 0, origins=["https://good.example"]) as server:
            with pytest.raises(InvalidStatus) as ours:
                await connect("ws://127.0.0.1:%d/" % port_of(server))
            assert ours.value.status == 403

    run(scenario)


def test_subprotocols(run):
    async def handler(conn):
        await conn.send(conn.subprotocol or "none")

    def select(conn, offered):
        return "v2" if "v2" in offered else None

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, subprotocols=["chat.v2", "chat.v1"]) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, subprotocols=["chat.v1", "chat.v2"]) as ws:
                assert ws.subprotocol == "chat.v2"  # the server's preference
                assert await ws.recv() == "chat.v2"
            async with connect(url, subprotocols=["chat.v1", "other"]) as conn:
                assert conn.subprotocol == "chat.v1"
                assert await conn.recv() == "chat.v1"
            async with connect(url, subprotocols=["other"]) as conn:
                assert conn.subprotocol is None
                assert await conn.recv() == "none"
        async with serve(handler, "127.0.0.1", 0, select_subprotocol=select) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with connect(url, subprotocols=["v1", "v2"]) as conn:
                assert conn.subprotocol == "v2"

    async def ws_handler(ws):
        await ws.send(ws.subprotocol)

    async def our_client():
        async with ws_serve(ws_handler, "127.0.0.1", 0, subprotocols=["b", "a"]) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            async with connect(url, subprotocols=["a"]) as conn:
                assert conn.subprotocol == "a"
                assert await conn.recv() == "a"

    run(scenario)
    run(our_client)


def test_process_request(run):
    seen = []

    def check(conn, request):
        seen.append(request.path)
        if request.get("Authorization") != "Bearer good":
            return Response(401, "bad token", [("WWW-Authenticate", "Bearer")])
        return None

    async def check_async(conn, request):
        await asyncio.sleep(0.01)
        return check(conn, request)

    async def scenario(hook):
        async with serve(echo, "127.0.0.1", 0, process_request=hook) as server:
            url = "ws://127.0.0.1:%d/p?x=1" % port_of(server)
            with pytest.raises(websockets.InvalidStatus) as info:
                await ws_connect(url)
            assert info.value.response.status_code == 401
            assert info.value.response.headers["WWW-Authenticate"] == "Bearer"
            with pytest.raises(InvalidStatus) as ours:
                await connect(url)
            assert ours.value.status == 401 and b"bad token" in ours.value.body
            headers = [("Authorization", "Bearer good")]
            async with connect(url, additional_headers=headers) as conn:
                await conn.send("in")
                assert await conn.recv() == "in"
            async with ws_connect(url, additional_headers=headers) as ws:
                await ws.send("in")  # pipelined right after the handshake
                assert await ws.recv() == "in"

    run(scenario, check)
    run(scenario, check_async)
    assert seen == ["/p?x=1"] * 8


def test_reuse_port(run):
    if not hasattr(__import__("socket"), "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT on this platform")

    async def first(conn):
        await conn.send("first")

    async def second(conn):
        await conn.send("second")

    async def scenario():
        server1 = await serve(first, "127.0.0.1", 0, reuse_port=True)
        port = port_of(server1)
        server2 = await serve(second, "127.0.0.1", port, reuse_port=True)
        seen = set()
        for _ in range(40):  # the kernel spreads connections over both listeners
            async with connect("ws://127.0.0.1:%d/" % port) as conn:
                seen.add(await conn.recv())
            if len(seen) == 2:
                break
        for server in (server1, server2):
            server.close()
            await server.wait_closed()
        return seen

    assert run(scenario) == {"first", "second"}


def test_bad_handshakes_get_http_errors(run):
    async def scenario():
        async with serve(echo, "127.0.0.1", 0, open_timeout=0.5) as server:
            port = port_of(server)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.read(100)).startswith(b"HTTP/1.1 400")
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\n")  # never finished: closed after open_timeout
            assert await asyncio.wait_for(reader.read(), 10) == b""
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"X" * 70000)  # no end of head within MAX_HEAD_SIZE
            assert (await reader.read(100)).startswith(b"HTTP/1.1 431")
            writer.close()

    run(scenario)


def test_argument_errors():
    with pytest.raises(ValueError, match="compression"):
        serve(echo, compression="gzip")
    with pytest.raises(ValueError, match="max_message_size"):
        serve(echo, max_message_size=0)
    with pytest.raises(ValueError, match="write_limit"):
        serve(echo, write_limit=(10, 20))
    with pytest.raises(ValueError, match="read_limit"):
        serve(echo, read_limit=-1)
    with pytest.raises(ValueError, match="ping_interval"):
        serve(echo, ping_interval=0)
    with pytest.raises(ValueError, match="subprotocol"):
        serve(echo, subprotocols=["not a token"])
    with pytest.raises(TypeError, match="handler"):
        serve(None)
    with pytest.raises(ValueError, match="uri"):
        connect("http://example.com/")
    with pytest.raises(ValueError, match="wss"):
        connect("ws://example.com/", ssl=ssl.create_default_context())
    with pytest.raises(ValueError, match="level"):
        serve(echo, compression=__import__("wsframe.asyncio").asyncio.Deflate(level=12))
    with pytest.raises(TypeError):
        serve(echo, no_such_option=1)
