"""wsframe.asyncio.broadcast over real loopback connections (websockets as the client):
one encode for every recipient, closing connections skipped, the slow-client policy,
permessage-deflate frames shared only where that is correct."""

import asyncio
import base64
import os
import socket
import time

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory  # noqa: E402

from wsframe.asyncio import (  # noqa: E402
    LocalBroker,
    SlowClientPolicy,
    State,
    broadcast,
    connect,
    serve,
)
from wsframe.asyncio import connection as connection_module  # noqa: E402

TIMEOUT = 20.0


@pytest.fixture
def codec(impl):
    """Connections opened during the test use the implementation under test."""
    previous = connection_module.set_codec(impl)
    try:
        yield impl
    finally:
        connection_module.set_codec(previous)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


class Recorder:
    """Wraps a transport: records every object handed to write/writelines."""

    def __init__(self, transport):
        self._transport = transport
        self.written = []

    def write(self, data):
        self.written.append(data)
        self._transport.write(data)

    def writelines(self, items):
        items = list(items)
        self.written.extend(items)
        self._transport.writelines(items)

    def __getattr__(self, name):
        return getattr(self._transport, name)


class Room:
    """A server whose handler keeps every connection in ``members`` until it closes."""

    def __init__(self, **options):
        self.options = options
        self.members = []
        self.joined = asyncio.Condition()

    async def handler(self, conn):
        async with self.joined:
            self.members.append(conn)
            self.joined.notify_all()
        async for _ in conn:
            pass

    async def wait_members(self, count):
        async with self.joined:
            await self.joined.wait_for(lambda: len(self.members) >= count)


async def _start(room):
    server = await serve(room.handler, "127.0.0.1", 0, **room.options)
    port = server.sockets[0].getsockname()[1]
    return server, "ws://127.0.0.1:%d/" % port


def test_encode_once_same_bytes_object_to_every_transport(codec):
    async def main():
        room = Room()
        server, uri = await _start(room)
        clients = [await ws_connect(uri, compression=None) for _ in range(5)]
        await room.wait_members(5)
        recorders = []
        for conn in room.members:
            conn.transport = Recorder(conn.transport)
            recorders.append(conn.transport)
        results = [broadcast(room.members, "héllo"), broadcast(room.members, b"\x00\xffbin")]
        got = [[await asyncio.wait_for(c.recv(), TIMEOUT) for _ in range(2)] for c in clients]
        for c in clients:
            await c.close()
        server.close()
        await server.wait_closed()
        return results, recorders, got

    results, recorders, got = run(main())
    assert [r.sent for r in results] == [5, 5]
    assert got == [["héllo", b"\x00\xffbin"]] * 5
    # (what follows them is the closing handshake)
    frames = [rec.written[:2] for rec in recorders]
    for i in range(2):
        assert all(f[i] is frames[0][i] for f in frames), "a frame was encoded more than once"
    assert frames[0][0] == b"\x81\x06" + "héllo".encode()
    assert frames[0][1] == b"\x82\x05\x00\xffbin"


def test_closing_and_closed_connections_are_skipped(codec):
    async def main():
        room = Room()
        server, uri = await _start(room)
        clients = [await ws_connect(uri, compression=None) for _ in range(3)]
        await room.wait_members(3)
        closing = room.members[0]
        closer = asyncio.ensure_future(closing.close(1000))
        await asyncio.sleep(0)
        assert closing.state is State.CLOSING
        result = broadcast(room.members, "to the open ones")
        got = [await asyncio.wait_for(c.recv(), TIMEOUT) for c in clients[1:]]
        with pytest.raises(websockets.ConnectionClosedOK):
            await asyncio.wait_for(clients[0].recv(), TIMEOUT)  # the close, no message before it
        await closer
        after = broadcast(room.members, "again")
        for c in clients[1:]:
            assert await asyncio.wait_for(c.recv(), TIMEOUT) == "again"
            await c.close()
        server.close()
        await server.wait_closed()
        return result, got, after

    result, got, after = run(main())
    assert (result.sent, result.skipped_closed, result.skipped_slow) == (2, 1, 0)
    assert got == ["to the open ones"] * 2
    assert (after.sent, after.skipped_closed) == (2, 1)


def test_broadcast_rejects_other_types(codec):
    with pytest.raises(TypeError, match="str .text. or a bytes-like"):
        broadcast([], 3)


def test_policy_rejects_bad_arguments():
    with pytest.raises(ValueError, match="close_after must be None"):
        SlowClientPolicy(close_after=0)
    with pytest.raises(ValueError, match="close_code must be"):
        SlowClientPolicy(close_code=1006)
    with pytest.raises(ValueError, match="close_reason"):
        SlowClientPolicy(close_reason="x" * 124)


def _deflate_factory(no_takeover):
    return ClientPerMessageDeflateFactory(server_no_context_takeover=no_takeover, client_max_window_bits=True)


def test_deflate_shared_only_without_context_takeover(codec):
    """Two clients asked for server_no_context_takeover: one compressed frame for both.
    Two did not: each gets its own compression (its compressor's history), and every
    client inflates every message correctly, message after message."""

    async def main():
        room = Room(compression="deflate")
        server, uri = await _start(room)
        clients = []
        for no_takeover in (True, True, False, False):
            clients.append(await ws_connect(uri, extensions=[_deflate_factory(no_takeover)], compression=None))
            await room.wait_members(len(clients))
        plain = await ws_connect(uri, compression=None)
        clients.append(plain)
        await room.wait_members(5)
        recorders = []
        for conn in room.members:
            conn.transport = Recorder(conn.transport)
            recorders.append(conn.transport)
        messages = ["a compressible message, " * 20, b"\x00" * 3000, "x" * 600 + "y" * 600, "tiny"]
        got = []
        for m in messages:
            broadcast(room.members, m)
            got.append([await asyncio.wait_for(c.recv(), TIMEOUT) for c in clients])
        keys = [conn._compression_params() for conn in room.members]
        for c in clients:
            await c.close()
        server.close()
        await server.wait_closed()
        return messages, got, recorders, keys

    messages, got, recorders, keys = run(main())
    assert got == [[m] * 5 for m in messages]
    assert keys[0] == keys[1] and keys[0][-1] is False  # shareable
    assert keys[2][-1] is True and keys[4] is None
    for i in range(3):  # the compressed messages (the last is under the threshold)
        f = [rec.written[i] for rec in recorders]
        assert f[0] is f[1], "no-context-takeover connections must share the compressed frame"
        assert f[0][0] == 0xC1 or f[0][0] == 0xC2  # FIN + RSV1
        assert f[2] is not f[0] and f[3] is not f[2] and f[2][0] & 0x40
        assert f[4][0] & 0x40 == 0  # no deflate negotiated: uncompressed
    tiny = [rec.written[3] for rec in recorders]
    assert all(t is tiny[0] for t in tiny) and tiny[0] == b"\x81\x04tiny"  # under the threshold


def test_client_connections_get_their_own_masked_frames(codec):
    """broadcast over client connections: each frame masked with its own key."""

    async def main():
        received = []

        async def sink(ws):
            async for m in ws:
                received.append(m)

        async with websockets.serve(sink, "127.0.0.1", 0) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            conns = [await connect("ws://127.0.0.1:%d/" % port) for _ in range(3)]
            result = broadcast(conns, "from clients")
            for conn in conns:
                await conn.close()
            await asyncio.sleep(0.05)
        return result, received

    result, received = run(main())
    assert result.sent == 3 and received == ["from clients"] * 3


def _raw_client(port):
    """A client that completes the handshake and then never reads (a stalled reader)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key
    ).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)  # byte by byte: not a byte past the response head
        assert chunk, "server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101")
    return s


def _read_until_close(sock, codec):
    decoder = codec.FrameDecoder("client", max_message_size=1 << 20)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        data = sock.recv(1 << 16)
        if not data:
            return None
        for event in decoder.feed(data):
            if isinstance(event, codec.Close):
                return event.code
    return None


@pytest.mark.parametrize("close_after", [None, 5])
def test_slow_client_memory_bounded_and_policy_applied(codec, close_after):
    """A client that stops reading, under 64 KiB broadcasts: nothing is queued for it
    past its high-water mark (buffered_amount stays bounded), the skips are counted, and
    with close_after it is closed with 1008; a reading client gets every message."""
    high = 64 * 1024
    message = os.urandom(64 * 1024)
    rounds = 300  # 19 MiB of broadcasts

    async def main():
        room = Room(write_limit=high, close_timeout=5, ping_interval=None)
        server, uri = await _start(room)
        port = int(uri.rsplit(":", 1)[1].strip("/"))
        fast = await ws_connect(uri, compression=None, max_size=None, max_queue=None)
        await room.wait_members(1)
        slow_sock = await asyncio.get_running_loop().run_in_executor(None, _raw_client, port)
        await room.wait_members(2)
        slow_conn = room.members[1]
        policy = SlowClientPolicy(close_after=close_after, close_code=1008)
        peak = 0
        received = 0
        for _ in range(rounds):
            broadcast(room.members, message, policy=policy)
            peak = max(peak, slow_conn.buffered_amount)
            await asyncio.sleep(0)  # the flush
            peak = max(peak, slow_conn.buffered_amount)
            got = await asyncio.wait_for(fast.recv(), TIMEOUT)
            assert got == message
            received += 1
        closed = slow_conn.state
        code = None
        if close_after is not None:  # the client reads again: what it gets ends with the close
            code = await asyncio.get_running_loop().run_in_executor(None, _read_until_close, slow_sock, codec)
            slow_sock.close()  # (no close frame back: the server sees the TCP close)
            await asyncio.wait_for(slow_conn.wait_closed(), TIMEOUT)
        await fast.close()
        slow_sock.close()
        server.close()
        await server.wait_closed()
        return policy, peak, received, closed, code

    policy, peak, received, state, code = run(main())
    assert received == rounds
    assert peak <= high + len(message) + 64, "a slow client's buffer grew past high-water + one message"
    assert policy.skipped > 0
    if close_after is None:
        assert policy.closed == 0 and state is State.OPEN
        assert policy.skipped > rounds // 2  # the stalled client got only its first few
    else:
        assert policy.closed == 1 and policy.skipped == close_after
        assert state in (State.CLOSING, State.CLOSED) and code == 1008


def test_local_broker_delivers_to_connections(codec):
    async def main():
        room = Room()
        server, uri = await _start(room)
        clients = [await ws_connect(uri, compression=None) for _ in range(3)]
        await room.wait_members(3)
        async with LocalBroker() as broker:
            sub = await broker.subscribe("room")
            for conn in room.members[:2]:
                sub.add(conn)
            await broker.publish("room", "to two")
            await broker.publish("room", b"\x01\x02")
            got = [[await asyncio.wait_for(c.recv(), TIMEOUT) for _ in range(2)] for c in clients[:2]]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(clients[2].recv(), 0.2)
        for c in clients:
            await c.close()
        server.close()
        await server.wait_closed()
        return got

    assert run(main()) == [["to two", b"\x01\x02"]] * 2


def test_broadcast_many_connections_stays_bounded_in_time(codec):
    """200 connections, 50 broadcasts each received by all (no timing threshold: the
    test is bounded by its timeout only)."""

    async def main():
        room = Room()
        server, uri = await _start(room)
        clients = [await ws_connect(uri, compression=None) for _ in range(200)]
        await room.wait_members(200)
        start = time.monotonic()
        for i in range(50):
            broadcast(room.members, "m%d" % i)
        for c in clients:
            for i in range(50):
                assert await asyncio.wait_for(c.recv(), TIMEOUT) == "m%d" % i
        for c in clients:
            await c.close()
        server.close()
        await server.wait_closed()
        return time.monotonic() - start

    run(main())


def test_policy_forgets_closed_connections():
    """Strike counts of connections that closed elsewhere do not accumulate."""
    import sys

    bmod = sys.modules["wsframe.asyncio.broadcast"]

    class Conn:
        state = State.OPEN

    policy = SlowClientPolicy(close_after=10)
    gone = []
    for _ in range(bmod._PRUNE_AT * 3):
        conn = Conn()
        policy._skip(conn)
        conn.state = State.CLOSED  # it left without another broadcast seeing it
        gone.append(conn)
    assert len(policy._strikes) <= bmod._PRUNE_AT
    assert policy.skipped == bmod._PRUNE_AT * 3 and policy.closed == 0
