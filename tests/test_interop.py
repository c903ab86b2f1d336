"""Interoperability over real sockets on 127.0.0.1 with the websockets library, both
directions: a websockets client against examples/echo_server.py, examples/echo_client.py
against a websockets server. Each implementation runs in the example's process."""

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402

pytestmark = pytest.mark.interop

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
BIG = 16 * 1024 * 1024
TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example_env(impl):
    env = dict(os.environ)
    env["WSFRAME_NO_EXTENSIONS"] = "1" if impl.name == "python" else "0"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (EXAMPLES, env.get("PYTHONPATH", "")) if p
    )
    return env


@pytest.fixture
def echo_server(impl):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, "echo_server.py"), "--port", str(port)],
        env=example_env(impl),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        line = proc.stdout.readline().decode()
        assert "(%s) echo server" % impl.name in line, line
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield "ws://127.0.0.1:%d/" % port
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_websockets_client_against_echo_server(echo_server, compression):
    async def scenario():
        async with connect(echo_server, compression=compression, max_size=2 * BIG) as ws:
            await ws.send("héllo ☃")
            assert await ws.recv() == "héllo ☃"
            await ws.send(b"\x00\x01\xff")
            assert await ws.recv() == b"\x00\x01\xff"
            await ws.send(["frag", "mented", " text"])  # a fragmented message
            assert await ws.recv() == "fragmented text"
            await ws.send([b"a" * 1000, b"b" * 1000])
            assert await ws.recv() == b"a" * 1000 + b"b" * 1000
            big = os.urandom(BIG)
            await ws.send(big)
            assert await ws.recv() == big
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, TIMEOUT)
            await ws.close(4321, "bye now")
        assert ws.close_code == 4321  # echoed back by the server

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))


def test_echo_server_rejects_a_bad_handshake(echo_server):
    port = int(echo_server.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(100).startswith(b"HTTP/1.1 4")


def test_echo_server_fails_a_bad_frame_with_its_close_code(echo_server):
    async def scenario():
        async with connect(echo_server) as ws:
            # A raw text frame with invalid UTF-8 (masked, as a client must).
            ws.protocol.send_frame  # noqa: B018  (exists in websockets >= 13)
            transport = ws.transport
            transport.write(b"\x81\x82\x00\x00\x00\x00\xc3\x28")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 1007

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_echo_client_against_websockets_server(impl, compression):
    results = {}

    async def handler(ws):
        for message in ["héllo", b"\x00\xff", ["frag", "ments"], os.urandom(BIG)]:
            await ws.send(message)
            expected = "".join(message) if isinstance(message, list) else message
            assert await ws.recv() == expected
        pong = await ws.ping(b"ping!")
        await asyncio.wait_for(pong, TIMEOUT)
        await ws.close(4000, "done")
        results["ok"] = True

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, compression=compression, max_size=2 * BIG) as server:
            port = server.sockets[0].getsockname()[1]
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                os.path.join(EXAMPLES, "echo_client.py"),
                "ws://127.0.0.1:%d/chat" % port,
                env=example_env(impl),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
            return proc.returncode, out.decode()

    code, out = asyncio.run(asyncio.wait_for(scenario(), TIMEOUT + 5))
    assert code == 0, out
    assert "closed with code 4000" in out
    assert results.get("ok")
