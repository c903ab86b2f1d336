"""Heartbeat, back-pressure (write_limit, read_limit) and graceful shutdown."""

import asyncio

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

from wsframe.asyncio import ConnectionClosed, State, connect, serve  # noqa: E402

from .conftest import port_of, raw_client  # noqa: E402


def test_heartbeat_closes_a_zombie_peer(run):
    """A client that completed the handshake and never answers pings is closed with 1011
    after ping_interval + ping_timeout."""
    interval, timeout = 0.2, 0.3
    times = {}

    async def handler(conn):
        times["open"] = asyncio.get_running_loop().time()
        with pytest.raises(ConnectionClosed) as info:
            await conn.recv()
        times["closed"] = asyncio.get_running_loop().time()
        times["code"] = info.value.code

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, ping_interval=interval,
                         ping_timeout=timeout) as server:
            reader, writer = await raw_client(port_of(server))  # never reads nor answers
            while "code" not in times:
                await asyncio.sleep(0.05)
            data = await asyncio.wait_for(reader.read(), 5)  # the server hung up
            writer.close()
            return data

    data = run(scenario)
    assert times["code"] == 1011
    elapsed = times["closed"] - times["open"]
    assert elapsed >= interval + timeout - 0.01
    assert elapsed < interval + timeout + 5  # bounded: a generous margin for a busy machine
    assert data.startswith(b"\x89\x04")  # the ping it did not answer (close may follow)


def test_heartbeat_keeps_a_live_peer(run):
    async def handler(conn):
        await asyncio.sleep(0.7)
        await conn.send("latency %s" % (conn.latency > 0))

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, ping_interval=0.1, ping_timeout=0.2) as server:
            async with ws_connect("ws://127.0.0.1:%d/" % port_of(server)) as ws:
                assert await ws.recv() == "latency True"
            assert ws.close_code == 1000

    run(scenario)


def test_client_heartbeat_against_a_silent_server(run):
    async def silent(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        from wsframe import handshake

        _, _, headers = handshake.parse_request(head)
        key = handshake.check_request("GET", headers)
        writer.write(handshake.build_response(key))
        await reader.read()  # reads, never answers

    async def scenario():
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            conn = await connect("ws://127.0.0.1:%d/" % port, ping_interval=0.1, ping_timeout=0.2)
            with pytest.raises(ConnectionClosed):
                await conn.recv()
            await conn.wait_closed()
            return conn.close_code, conn.state

    assert run(scenario) == (1011, State.CLOSED)


def test_slow_reading_client_bounds_the_server(run):
    """The server sends 64 KiB messages to a client that does not read: send() starts
    waiting once buffered_amount passes the high mark, which stays the bound; when the
    client reads, buffered_amount falls and every send completes."""
    high, low = 256 * 1024, 64 * 1024
    size = 64 * 1024
    count = 200  # 12.5 MiB: far more than the socket buffers hold
    state = {"sent": 0, "max_buffered": 0, "waited": False}
    release = None

    async def handler(conn):
        for _ in range(count):
            before = asyncio.get_running_loop().time()
            task = asyncio.ensure_future(conn.send(b"x" * size))
            await asyncio.sleep(0)
            if not task.done():
                state["waited"] = True
                state["blocked_buffered"] = conn.buffered_amount
                release.set()
            await task
            del before
            state["sent"] += 1
            state["max_buffered"] = max(state["max_buffered"], conn.buffered_amount)
        for _ in range(1000):  # the client reads now: the buffer drains to nothing
            if conn.buffered_amount == 0:
                break
            await asyncio.sleep(0.01)
        state["drained"] = conn.buffered_amount
        await conn.close()

    async def scenario():
        nonlocal release
        release = asyncio.Event()
        async with serve(handler, "127.0.0.1", 0, write_limit=(high, low), ping_interval=None,
                         close_timeout=0.5,
                         max_message_size=1 << 20) as server:
            reader, writer = await raw_client(port_of(server), rcvbuf=16384)
            await asyncio.wait_for(release.wait(), 10)
            await asyncio.sleep(0.2)  # the server stays blocked while nobody reads
            blocked_at = state["sent"]
            assert blocked_at < count
            await asyncio.sleep(0.2)
            assert state["sent"] == blocked_at
            total = 0
            while True:
                chunk = await asyncio.wait_for(reader.read(1 << 20), 10)
                if not chunk:
                    break
                total += len(chunk)
            writer.close()
            return total

    total = run(scenario)
    assert state["waited"]
    assert state["sent"] == count
    assert state["blocked_buffered"] > high
    # send() never lets more than the high mark plus one message pile up
    assert state["max_buffered"] <= high + size + 16
    assert state["drained"] == 0
    assert total >= count * (size + 4)


def test_read_limit_pauses_reading(run):
    """A client floods a handler that does not read: the server stops reading at
    read_limit, so its memory is bounded; reading resumes when the handler catches up."""
    read_limit = 64 * 1024
    seen = {}

    async def handler(conn):
        await asyncio.sleep(0.5)
        seen["queued"] = conn._queued
        seen["paused"] = conn._reading_paused
        n = 0
        async for message in conn:
            n += 1
            if message == "last":
                break
        seen["received"] = n
        seen["paused_after"] = conn._reading_paused
        await conn.send("done")

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, read_limit=read_limit) as server:
            async with ws_connect("ws://127.0.0.1:%d/" % port_of(server), compression=None) as ws:
                sender = asyncio.ensure_future(flood(ws))
                assert await asyncio.wait_for(ws.recv(), 20) == "done"
                await sender

    async def flood(ws):
        for _ in range(2000):
            await ws.send(b"y" * 1000)
        await ws.send("last")

    run(scenario)
    assert seen["paused"] is True
    # one read (at most 256 KiB) past the limit at most
    assert read_limit <= seen["queued"] <= read_limit + 300 * 1024
    assert seen["received"] == 2001
    assert seen["paused_after"] is False


def test_graceful_shutdown(run):
    handlers_done = []

    async def handler(conn):
        try:
            async for message in conn:
                await conn.send(message)
        finally:
            handlers_done.append(conn.close_code)

    async def scenario():
        server = await serve(handler, "127.0.0.1", 0, close_timeout=1)
        url = "ws://127.0.0.1:%d/" % port_of(server)
        clients = [await ws_connect(url) for _ in range(3)]
        ours = await connect(url)
        for ws in clients:
            await ws.send("hi")
            assert await ws.recv() == "hi"
        # a client that never answers the close frame: aborted after close_timeout
        reader, writer = await raw_client(port_of(server))
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.close()
        await server.wait_closed()
        elapsed = loop.time() - started
        for ws in clients:
            with pytest.raises(websockets.ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1001
        with pytest.raises(ConnectionClosed):
            await ours.recv()
        assert ours.close_code == 1001
        writer.close()
        with pytest.raises(OSError):
            await ws_connect(url, open_timeout=2)  # no longer listening
        return elapsed

    elapsed = run(scenario)
    assert len(handlers_done) == 5 and handlers_done.count(1001) == 4
    assert 1 <= elapsed < 6  # waited for the silent client, at most about close_timeout


def test_event_loops_in_two_threads_read_into_their_own_buffers(impl):
    """Reads land in a per-thread buffer (BufferedProtocol) and are copied out: two event
    loops in two threads, each echoing large messages at once, get back exactly what they
    sent."""
    import random
    import threading

    from wsframe.asyncio import connection

    previous = connection.set_codec(impl)
    results, errors = {}, []

    async def echo(conn):
        async for message in conn:
            await conn.send(message)

    async def scenario(seed):
        rng = random.Random(seed)
        messages = [bytes([seed]) * rng.randrange(1, 300_000) for _ in range(20)]
        async with serve(echo, "127.0.0.1", 0, max_message_size=1 << 20) as server:
            async with connect("ws://127.0.0.1:%d/" % port_of(server),
                               max_message_size=1 << 20) as conn:
                got = []
                for message in messages:
                    await conn.send(message)
                    got.append(await conn.recv())
                return got == messages

    def worker(seed):
        try:
            results[seed] = asyncio.run(asyncio.wait_for(scenario(seed), 60))
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=worker, args=(seed,)) for seed in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        connection.set_codec(previous)
    assert not errors and results == {1: True, 2: True}
