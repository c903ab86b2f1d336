"""Broadcast across processes through a real Redis: two server processes
(tests/broadcast_app.py) on different ports, websockets clients on each; what a client
sends reaches every client of both, in order per publisher, byte-exact; Redis restarted:
the servers reconnect and later broadcasts arrive."""

import asyncio
import os
import subprocess
import sys
import threading

import pytest

import wsframe

from redis_server import redis_server  # noqa: F401  (the fixture)

redis = pytest.importorskip("redis", reason="the redis package (wsframe[redis]) is not installed")
websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WSFRAME_HOME = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
TIMEOUT = 30.0
CLIENTS_PER_SERVER = 3
PER_PUBLISHER = 40


class AppProcess:
    """tests/broadcast_app.py in a subprocess, on the implementation under test."""

    def __init__(self, redis_url, impl_name):
        env = dict(os.environ)
        # The child imports the wsframe this test imported (src/ or the installed one).
        env["PYTHONPATH"] = WSFRAME_HOME + os.pathsep + env.get("PYTHONPATH", "")
        if impl_name == "python":
            env["WSFRAME_NO_EXTENSIONS"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "broadcast_app.py"), redis_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        line = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(TIMEOUT)
        if not line or not line[0].startswith(b"READY "):
            self.stop()
            raise AssertionError("server process did not start: %r %s" % (
                line, self.proc.stderr.read().decode(errors="replace")[-2000:]))
        self.port = int(line[0].split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # its signal to stop
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def _messages(tag):
    """Text and binary, with bytes that a lossy path would change."""
    out = []
    for i in range(PER_PUBLISHER):
        if i % 3 == 0:
            out.append("%s-%d é𝄞\x00" % (tag, i))
        elif i % 3 == 1:
            out.append(tag.encode() + bytes([i]) + os.urandom(i * 37))
        else:
            out.append(("%s-%d " % (tag, i)) * (i * 10))
    return out


def _publisher_of(message):
    return message[:1] if isinstance(message, str) else message[:1].decode()


async def _wait_numsub(url, channel, count):
    client = redis.asyncio.Redis.from_url(url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            try:
                numsub = dict(await client.pubsub_numsub(channel))
                if numsub.get(channel.encode(), 0) >= count:
                    return
            except redis.exceptions.ConnectionError:
                pass
            await asyncio.sleep(0.02)
        raise AssertionError("%d subscriptions to %r not seen in Redis in time" % (count, channel))
    finally:
        await client.aclose()


async def _exchange(clients, publishers, tags):
    """Each publisher sends its messages (concurrently); every client must receive all of
    them, each publisher's in its order, byte-exact; returns what every client got."""
    sent = {tag: _messages(tag) for tag in tags}

    async def publish(ws, tag):
        for m in sent[tag]:
            await ws.send(m)

    async def collect(ws):
        return [await asyncio.wait_for(ws.recv(), TIMEOUT) for _ in range(len(tags) * PER_PUBLISHER)]

    results = await asyncio.gather(*[collect(c) for c in clients],
                                   *[publish(p, t) for p, t in zip(publishers, tags)])
    got = results[:len(clients)]
    for received in got:
        for tag in tags:
            mine = [m for m in received if _publisher_of(m) == tag]
            assert mine == sent[tag]
            assert [type(m) for m in mine] == [type(m) for m in sent[tag]]
    # Redis orders a channel's messages once: every client saw the same interleaving.
    assert all(g == got[0] for g in got)
    return got


def test_two_processes_through_redis_and_a_redis_restart(redis_server, impl):  # noqa: F811
    apps = []
    try:
        apps = [AppProcess(redis_server.url, impl.name) for _ in range(2)]
        assert apps[0].port != apps[1].port

        async def main():
            clients = []
            for app in apps:
                for _ in range(CLIENTS_PER_SERVER):
                    clients.append(await ws_connect("ws://127.0.0.1:%d/room" % app.port,
                                                    compression=None, max_size=None))
            await _wait_numsub(redis_server.url, "room", 2)
            a, b = clients[0], clients[CLIENTS_PER_SERVER]  # one publisher on each server
            await _exchange(clients, [a, b], ["A", "B"])

            await asyncio.get_running_loop().run_in_executor(None, redis_server.restart, 0.3)
            # While the servers reconnect, what is published is lost (at most once): send
            # probes until one has reached every client, then a full exchange again.
            await _wait_numsub(redis_server.url, "room", 2)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + TIMEOUT
            pending = set(range(len(clients)))
            while pending and loop.time() < deadline:
                await a.send("probe")
                await b.send(b"probe")
                await asyncio.sleep(0.05)
                for i in list(pending):
                    try:
                        while True:
                            m = await asyncio.wait_for(clients[i].recv(), 0.01)
                            if m in ("probe", b"probe"):
                                pending.discard(i)
                    except asyncio.TimeoutError:
                        pass
            assert not pending, "clients %s got nothing after Redis restarted" % sorted(pending)
            await asyncio.sleep(0.2)
            for c in clients:  # drop the probes still arriving
                try:
                    while True:
                        assert await asyncio.wait_for(c.recv(), 0.05) in ("probe", b"probe")
                except asyncio.TimeoutError:
                    pass
            await _exchange(clients, [b, a], ["B", "A"])
            for c in clients:
                await c.close()

        asyncio.run(asyncio.wait_for(main(), TIMEOUT * 4))
    finally:
        for app in apps:
            app.stop()
