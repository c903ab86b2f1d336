"""The broker interface, LocalBroker and RedisBroker against a real redis-server
(subscribers with ``on_message``; delivery to connections is in test_broadcast*.py)."""

import asyncio

import pytest

from wsframe.asyncio.broker import LocalBroker, pack, unpack

from redis_server import redis_server  # noqa: F401  (the fixture)

try:
    import redis  # noqa: F401

    from wsframe.asyncio.redis_broker import BrokerUnavailable, RedisBroker
except ImportError:  # the Redis tests skip, the others run
    redis = None

needs_redis_package = pytest.mark.skipif(redis is None, reason="the redis package (wsframe[redis]) is not installed")

TIMEOUT = 10.0

MESSAGES = ["héllo", b"h\xc3\xa9llo", "", b"", b"\x00\x01\xff", "\x00", "𝄞" * 100, bytes(range(256)) * 40]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT * 3))


def test_pack_unpack_round_trip(impl):
    for message in MESSAGES:
        opcode, payload = unpack(pack(message))
        assert opcode == (1 if isinstance(message, str) else 2)
        raw = bytes(payload)
        assert (raw.decode() if opcode == 1 else raw) == message
        assert type(raw.decode() if opcode == 1 else raw) is type(message)


def test_pack_rejects_other_types():
    with pytest.raises(TypeError, match="str .text. or a bytes-like"):
        pack(42)


def test_unpack_rejects_bad_input():
    with pytest.raises(ValueError, match="no type tag"):
        unpack(b"")
    with pytest.raises(ValueError, match="unknown broker message tag 0x03"):
        unpack(b"\x03abc")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        unpack(b"\x01\xff")


def test_local_broker_delivers_in_order_with_types():
    async def main():
        got, other = [], []
        async with LocalBroker() as broker:
            sub = await broker.subscribe("room", on_message=got.append)
            await broker.subscribe("other", on_message=other.append)
            for m in MESSAGES:
                assert await broker.publish("room", m) == 1
            await sub.close()
            assert await broker.publish("room", "after close") == 0
        return got, other

    got, other = run(main())
    assert got == MESSAGES and [type(m) for m in got] == [type(m) for m in MESSAGES]
    assert other == []


def test_channel_must_be_a_string():
    async def main():
        broker = LocalBroker()
        with pytest.raises(TypeError, match="channel must be a non-empty str"):
            await broker.subscribe(b"room")
        with pytest.raises(TypeError, match="channel must be a non-empty str"):
            await broker.publish("", "x")

    run(main())


async def _collect(got, count, timeout=TIMEOUT):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < count and loop.time() < deadline:
        await asyncio.sleep(0.01)


@needs_redis_package
def test_redis_two_brokers_exact_and_ordered(redis_server):  # noqa: F811
    async def main():
        got_a, got_b = [], []
        a, b = RedisBroker(redis_server.url), RedisBroker(redis_server.url)
        async with a, b:
            await a.wait_connected(TIMEOUT)
            await b.wait_connected(TIMEOUT)
            await a.subscribe("room", on_message=got_a.append)
            await b.subscribe("room", on_message=got_b.append)
            await _wait_subscribers(a, "room", 2)
            sent = []
            for i in range(50):
                for m in MESSAGES:
                    sent.append(m)
                    assert await (a if i % 2 else b).publish("room", m) == 2
            await _collect(got_a, len(sent))
            await _collect(got_b, len(sent))
        return sent, got_a, got_b

    sent, got_a, got_b = run(main())
    assert got_a == sent and got_b == sent
    assert [type(m) for m in got_a] == [type(m) for m in sent]


async def _wait_subscribers(broker, channel, count):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline:
        numsub = dict(await broker._publisher.pubsub_numsub(channel))
        if numsub.get(channel.encode(), 0) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriptions did not reach Redis in time")


@needs_redis_package
def test_redis_concurrent_publishes_are_batched_in_call_order(redis_server):  # noqa: F811
    """Many tasks publishing at once: pipelined batches, delivered in call order."""

    async def main():
        got = []
        a, b = RedisBroker(redis_server.url), RedisBroker(redis_server.url)
        async with a, b:
            await a.wait_connected(TIMEOUT)
            await b.wait_connected(TIMEOUT)
            await b.subscribe("room", on_message=got.append)
            await _wait_subscribers(a, "room", 1)
            sent = [("m%d" % i) if i % 2 else b"b%d" % i for i in range(500)]
            counts = await asyncio.gather(*[a.publish("room", m) for m in sent])
            await _collect(got, len(sent))
            return sent, got, counts, a.published

    sent, got, counts, published = run(main())
    assert got == sent and counts == [1] * len(sent) and published == len(sent)


@needs_redis_package
def test_redis_restart_reconnects_and_resubscribes(redis_server):  # noqa: F811
    async def main():
        got = []
        a = RedisBroker(redis_server.url, initial_delay=0.02, max_delay=0.2)
        async with a:
            await a.wait_connected(TIMEOUT)
            await a.subscribe("room", on_message=got.append)
            await _wait_subscribers(a, "room", 1)
            await a.publish("room", "before")
            await _collect(got, 1)
            await asyncio.get_running_loop().run_in_executor(None, redis_server.stop)
            with pytest.raises(BrokerUnavailable):
                await a.publish("room", "while down")
            await _until(lambda: not a.connected)
            await asyncio.get_running_loop().run_in_executor(None, redis_server.start)
            await a.wait_connected(TIMEOUT)
            await _wait_subscribers(a, "room", 1)
            await a.publish("room", "after")
            await _collect(got, 2)
            return got, a.connections_made

    got, made = run(main())
    assert got == ["before", "after"]
    assert made == 2


async def _until(predicate, timeout=TIMEOUT):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met within %s s" % timeout)
        await asyncio.sleep(0.01)


@needs_redis_package
def test_redis_broker_starts_while_redis_is_down(redis_server):  # noqa: F811
    """A process may start before Redis: it keeps retrying and connects when Redis is up."""
    redis_server.stop()

    async def main():
        got = []
        a = RedisBroker(redis_server.url, initial_delay=0.02, max_delay=0.1)
        async with a:
            await a.subscribe("room", on_message=got.append)
            await asyncio.sleep(0.3)
            assert not a.connected
            await asyncio.get_running_loop().run_in_executor(None, redis_server.start)
            await a.wait_connected(TIMEOUT)
            await _wait_subscribers(a, "room", 1)
            await a.publish("room", b"\x00up")
            await _collect(got, 1)
        return got

    assert run(main()) == [b"\x00up"]


@needs_redis_package
def test_redis_ignores_foreign_messages(redis_server):  # noqa: F811
    """Another publisher on the same Redis (not wsframe): untagged data is dropped and
    counted, never delivered as something else."""

    async def main():
        got = []
        a = RedisBroker(redis_server.url)
        async with a:
            await a.wait_connected(TIMEOUT)
            await a.subscribe("room", on_message=got.append)
            await _wait_subscribers(a, "room", 1)
            await a._publisher.publish("room", b"plain")
            await a._publisher.publish("room", b"\x01\xff\xfe")
            await a.publish("room", "ok")
            await _collect(got, 1)
            await asyncio.sleep(0.05)
            return got, a.dropped

    got, dropped = run(main())
    assert got == ["ok"] and dropped == 2


@needs_redis_package
def test_backoff_is_full_jitter_and_capped():
    b = RedisBroker("redis://127.0.0.1:1", initial_delay=0.1, factor=2.0, max_delay=1.0)
    b._rng.seed(1)
    for attempt in range(12):
        caps = min(1.0, 0.1 * 2 ** attempt)
        delays = [b.backoff_delay(attempt) for _ in range(200)]
        assert all(0 <= d <= caps for d in delays)
        assert max(delays) > caps * 0.8  # spread over the whole range, not a fixed delay


@needs_redis_package
def test_redis_broker_rejects_bad_options():
    with pytest.raises(ValueError, match="max_delay must be a positive number"):
        RedisBroker(max_delay=0)
    with pytest.raises(ValueError, match="factor must be a number >= 1"):
        RedisBroker(factor=0.5)
