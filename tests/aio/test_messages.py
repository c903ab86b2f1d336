"""Messages and close codes with the websockets library as the peer, both directions."""

import asyncio
import os

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.asyncio.server import serve as ws_serve  # noqa: E402

from wsframe.asyncio import (  # noqa: E402
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    State,
    connect,
    serve,
)

from .conftest import port_of, raw_client  # noqa: E402

pytestmark = pytest.mark.interop


async def echo(conn):
    async for message in conn:
        await conn.send(message)


def test_echo_with_a_websockets_client(run):
    async def scenario():
        async with serve(echo, "127.0.0.1", 0, max_message_size=4 << 20) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, compression=None, max_size=8 << 20) as ws:
                for message in ["héllo ☃", "", b"", b"\x00\x01\xff", "x" * 70000,
                                os.urandom(3 << 20)]:
                    await ws.send(message)
                    assert await ws.recv() == message
                await ws.send(["frag", "mented", " text"])
                assert await ws.recv() == "fragmented text"
                await ws.send([b"a" * 1000, b"b" * 1000])
                assert await ws.recv() == b"a" * 1000 + b"b" * 1000
                latency = await asyncio.wait_for(await ws.ping(b"are you there"), 5)
                assert latency >= 0
                # 64 in flight: all answered, in order
                for i in range(64):
                    await ws.send("m%d" % i)
                assert [await ws.recv() for _ in range(64)] == ["m%d" % i for i in range(64)]
            assert ws.close_code == 1000

    run(scenario)


def test_our_client_with_a_websockets_server(run):
    seen = {}

    async def handler(ws):
        async for message in ws:
            if message == "ping me":
                await asyncio.wait_for(await ws.ping(b"p"), 5)
                await ws.send("pinged")
            else:
                await ws.send(message)

    async def scenario():
        async with ws_serve(handler, "127.0.0.1", 0, compression=None, max_size=8 << 20) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect("ws://127.0.0.1:%d/path?q=1" % port, max_message_size=8 << 20) as conn:
                assert conn.state is State.OPEN
                assert conn.request.path == "/path?q=1"
                assert conn.remote_address[0] == "127.0.0.1"
                for message in ["héllo", b"\x00\xff", "", os.urandom(5 << 20)]:
                    await conn.send(message)
                    assert await conn.recv() == message
                await conn.send(["ab", "cd", "ef"])
                assert await conn.recv() == "abcdef"
                await conn.send((b"x", bytearray(b"y"), memoryview(b"z")))
                assert await conn.recv() == b"xyz"
                await conn.send("ping me")
                assert await conn.recv() == "pinged"  # its ping was answered on the way
                latency = await conn.ping(b"hello?")
                assert latency >= 0 and conn.latency == latency
                seen["buffered"] = conn.buffered_amount
            assert conn.state is State.CLOSED
            assert conn.close_code == 1000

    run(scenario)
    assert seen["buffered"] == 0


def test_close_codes_as_server(run):
    """Every way a server-side connection ends, and the code each side sees."""
    results = {}

    async def handler(conn):
        path = conn.request.path
        try:
            if path == "/handler-closes":
                await conn.close(4000, "bye from server")
            elif path == "/handler-fails":
                await conn.recv()
                raise RuntimeError("boom")
            elif path == "/handler-returns":
                return
            else:
                async for message in conn:
                    await conn.send(message)
        finally:
            results[path] = conn

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, max_message_size=1000) as server:
            url = "ws://127.0.0.1:%d" % port_of(server)
            async with ws_connect(url + "/client-closes") as ws:
                await ws.close(4321, "bye now")
            assert ws.close_code == 4321  # echoed

            async with ws_connect(url + "/handler-closes") as ws:
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4000, "bye from server")

            async with ws_connect(url + "/handler-returns") as ws:
                with pytest.raises(websockets.ConnectionClosedOK):
                    await ws.recv()
            assert ws.close_code == 1000

            async with ws_connect(url + "/handler-fails") as ws:
                await ws.send("go")
                with pytest.raises(websockets.ConnectionClosedError):
                    await ws.recv()
            assert ws.close_code == 1011

            async with ws_connect(url + "/too-big", compression=None) as ws:
                await ws.send("x" * 1001)
                with pytest.raises(websockets.ConnectionClosedError):
                    await ws.recv()
            assert ws.close_code == 1009

            async with ws_connect(url + "/bad-utf8", compression=None) as ws:
                ws.transport.write(b"\x81\x82\x00\x00\x00\x00\xc3\x28")
                with pytest.raises(websockets.ConnectionClosedError):
                    await ws.recv()
            assert ws.close_code == 1007

            async with ws_connect(url + "/unmasked", compression=None) as ws:
                ws.transport.write(b"\x81\x02hi")
                with pytest.raises(websockets.ConnectionClosedError):
                    await ws.recv()
            assert ws.close_code == 1002

            reader, writer = await raw_client(port_of(server))
            writer.transport.abort()  # TCP gone without a close frame
            for _ in range(200):
                if "/" in results:
                    break
                await asyncio.sleep(0.01)
        # the server's exit waited for every connection to close
        return {path: (conn.close_code, conn.close_reason) for path, conn in results.items()}

    results = run(scenario)
    assert results["/client-closes"] == (4321, "bye now")
    assert results["/handler-closes"][0] == 4000
    assert results["/handler-returns"][0] == 1000
    assert results["/handler-fails"][0] == 1011
    assert results["/too-big"][0] == 1009
    assert results["/bad-utf8"][0] == 1007
    assert results["/unmasked"][0] == 1002
    assert results["/"][0] == 1006


def test_close_codes_as_client(run):
    async def handler(ws):
        what = ws.request.path
        if what == "/server-closes":
            await ws.close(1001, "going away")
        elif what == "/server-closes-4999":
            await ws.close(4999, "custom")
        elif what == "/server-drops":
            ws.transport.abort()
        elif what == "/server-sends-masked":
            ws.transport.write(b"\x81\x82\x00\x00\x00\x00hi")
            await ws.wait_closed()
        else:
            async for message in ws:
                await ws.send(message)

    async def scenario():
        async with ws_serve(handler, "127.0.0.1", 0, compression=None) as server:
            url = "ws://127.0.0.1:%d" % server.sockets[0].getsockname()[1]

            conn = await connect(url + "/server-closes")
            received = [m async for m in conn]  # ends quietly on 1001
            assert received == []
            assert (conn.close_code, conn.close_reason) == (1001, "going away")
            with pytest.raises(ConnectionClosedOK):
                await conn.send("too late")

            conn = await connect(url + "/server-closes-4999")
            with pytest.raises(ConnectionClosedError) as info:
                async for _ in conn:
                    pass
            assert info.value.code == 4999 and conn.close_code == 4999
            await conn.wait_closed()

            conn = await connect(url + "/server-drops")
            with pytest.raises(ConnectionClosedError):
                await conn.recv()
            assert conn.close_code == 1006

            conn = await connect(url + "/server-sends-masked")
            with pytest.raises(ConnectionClosed):
                await conn.recv()
            assert conn.close_code == 1002
            await conn.wait_closed()

            conn = await connect(url + "/echo")
            await conn.close(3000, "done")
            assert conn.close_code == 3000  # websockets echoes the code
            assert conn.state is State.CLOSED
            with pytest.raises(ValueError):
                await (await connect(url + "/echo")).close(1005)

    run(scenario)


def test_our_client_with_our_server(run):
    async def scenario():
        async with serve(echo, "127.0.0.1", 0) as server:
            async with connect("ws://127.0.0.1:%d/" % port_of(server)) as conn:
                for message in ["a", b"b", "c" * 100000, b"d" * 100000]:
                    await conn.send(message)
                    assert await conn.recv() == message
                for i in range(100):
                    await conn.send(b"%d" % i)
                assert [await conn.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
                with pytest.raises(TypeError):
                    await conn.send(42)
                with pytest.raises(ValueError):
                    await conn.ping(b"x" * 126)

    run(scenario)


def test_ping_recv_and_close_edge_cases(run):
    async def silent(conn):
        await conn.wait_closed()

    async def scenario():
        async with serve(silent, "127.0.0.1", 0, close_timeout=1) as server:
            conn = await connect("ws://127.0.0.1:%d/" % port_of(server), close_timeout=1)
            assert await conn.ping("text payload") >= 0
            receiver = asyncio.ensure_future(conn.recv())
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="already"):
                await conn.recv()
            # a ping waiting when the connection goes away fails with ConnectionClosed
            pinger = asyncio.ensure_future(conn.ping(b"x"))
            await asyncio.sleep(0)
            conn.transport.abort()
            with pytest.raises(ConnectionClosed):
                await pinger
            with pytest.raises(ConnectionClosedError):
                await receiver
            assert conn.close_code == 1006
            await conn.close()  # closing a closed connection does nothing
            await conn.close()
            with pytest.raises(ConnectionClosedError):
                await conn.ping()
            assert conn.buffered_amount == 0

    run(scenario)
