"""connect(..., reconnect=...): exponential backoff with full jitter, which failures are
retried, against a server that refuses, restarts and closes with 1012."""

import asyncio

import pytest

from wsframe.asyncio import Backoff, ConnectionClosed, InvalidStatus, Response, connect, serve

from .conftest import free_port


class FakeClock:
    """Backoff's random and sleep, recorded; ``on_sleep`` runs actions at given sleeps."""

    def __init__(self, randoms, on_sleep=None):
        self.randoms = list(randoms)
        self.draws = []
        self.delays = []
        self.on_sleep = on_sleep or {}

    def random(self):
        value = self.randoms[len(self.draws) % len(self.randoms)]
        self.draws.append(value)
        return value

    async def sleep(self, delay):
        self.delays.append(delay)
        action = self.on_sleep.get(len(self.delays))
        if action is not None:
            await action()
        await asyncio.sleep(0)


def test_backoff_delays_and_caps():
    backoff = Backoff(initial=0.5, factor=3, maximum=10, random=lambda: 1.0)
    assert [backoff.cap(n) for n in range(6)] == [0.5, 1.5, 4.5, 10, 10, 10]
    assert backoff.cap(10_000) == 10  # no overflow
    draws = iter([0.0, 0.999, 0.5])
    backoff = Backoff(initial=2, factor=2, maximum=5, random=lambda: next(draws))
    assert [backoff.delay(n) for n in range(3)] == [0.0, 0.999 * 4, 2.5]
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0)
    with pytest.raises(ValueError, match="factor"):
        Backoff(factor=0.5)
    with pytest.raises(ValueError, match="maximum"):
        Backoff(initial=5, maximum=1)


def test_reconnects_through_refusal_restart_and_1012(run):
    port = free_port()
    url = "ws://127.0.0.1:%d/" % port
    served = []
    servers = []

    async def handler(conn):
        served.append(conn)
        if len(served) == 1:
            await conn.close(1012, "restarting")
        else:
            await conn.send("hello again")
            await conn.close(1000)

    async def start_server():
        servers.append(await serve(handler, "127.0.0.1", port))

    clock = FakeClock([0.5, 0.25, 1.0, 0.75], on_sleep={3: start_server})
    backoff = Backoff(initial=0.1, factor=2, maximum=0.3, random=clock.random, sleep=clock.sleep)

    async def scenario():
        codes, messages = [], []
        async for conn in connect(url, reconnect=backoff, open_timeout=5):
            try:
                async for message in conn:
                    messages.append(message)
            except ConnectionClosed:
                pass
            codes.append(conn.close_code)
        for server in servers:
            server.close()
            await server.wait_closed()
        return codes, messages

    codes, messages = run(scenario)
    assert codes == [1012, 1000]  # 1012 retried; 1000 ends the iteration
    assert messages == ["hello again"]
    # refused 3 times (attempts 0, 1, 2: caps 0.1, 0.2, 0.3 capped), then after the
    # 1012 the backoff starts over (cap 0.1)
    caps = [0.1, 0.2, 0.3, 0.1]
    assert len(clock.delays) == 4
    for delay, draw, cap in zip(clock.delays, clock.draws, caps):
        assert delay == pytest.approx(draw * cap)
        assert 0 <= delay <= cap


@pytest.mark.parametrize("code,retried", [(1008, False), (1000, False), (1011, True),
                                          (1013, True), (1001, True)])
def test_which_close_codes_are_retried(run, code, retried):
    served = []

    async def handler(conn):
        served.append(conn)
        await conn.close(code if len(served) == 1 else 1000)

    clock = FakeClock([0.5])

    async def scenario():
        async with serve(handler, "127.0.0.1", 0) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            backoff = Backoff(initial=0.01, random=clock.random, sleep=clock.sleep)
            return [c.close_code async for c in connect(url, reconnect=backoff)]

    codes = run(scenario)
    assert codes == ([code, 1000] if retried else [code])
    assert len(clock.delays) == (1 if retried else 0)


def test_http_403_is_not_retried_503_is(run):
    calls = []

    def reject(conn, request):
        calls.append(request.path)
        if request.path == "/forbidden":
            return Response(403, "go away")
        if len(calls) <= 2:
            return Response(503, "busy")
        return None

    async def scenario():
        async with serve(lambda conn: conn.close(), "127.0.0.1", 0, origins=None,
                         process_request=reject) as server:
            base = "ws://127.0.0.1:%d" % server.sockets[0].getsockname()[1]
            clock = FakeClock([1.0])
            backoff = Backoff(initial=0.01, random=clock.random, sleep=clock.sleep)
            with pytest.raises(InvalidStatus) as info:
                async for _ in connect(base + "/forbidden", reconnect=backoff):
                    pass
            assert info.value.status == 403 and clock.delays == []
            codes = [c.close_code async for c in connect(base + "/busy", reconnect=backoff)]
            return codes, clock.delays

    codes, delays = run(scenario)
    assert codes == [1000]
    assert delays == [pytest.approx(0.01)]  # one 503 retried (attempt 0)


def test_without_reconnect_errors_propagate(run):
    async def scenario():
        with pytest.raises(OSError):
            await connect("ws://127.0.0.1:%d/" % free_port())
        with pytest.raises(OSError):
            async for _ in connect("ws://127.0.0.1:%d/" % free_port()):
                pass

    run(scenario)
