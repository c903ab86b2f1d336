"""examples/chat/server.py: one process (LocalBroker), and two processes on different
ports sharing a Redis: rooms, join/leave announcements, names, binary relayed."""

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

import wsframe

from redis_server import redis_server  # noqa: F401  (the fixture)

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WSFRAME_HOME = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
ROOT = os.path.dirname(HERE)
CHAT = os.path.join(ROOT, "examples", "chat", "server.py")
TIMEOUT = 20.0

pytestmark = pytest.mark.skipif(not os.path.exists(CHAT), reason="examples/ not shipped here")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_chat(port, impl_name, redis_url=None):
    env = dict(os.environ)
    # The child imports the wsframe this test imported (src/ or the installed one).
    env["PYTHONPATH"] = WSFRAME_HOME + os.pathsep + env.get("PYTHONPATH", "")
    if impl_name == "python":
        env["WSFRAME_NO_EXTENSIONS"] = "1"
    args = [sys.executable, CHAT, "--port", str(port)]
    if redis_url:
        args += ["--redis", redis_url]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("chat server exited: %s" % proc.stdout.read().decode(errors="replace"))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("chat server did not listen in time")


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    proc.stdout.close()


async def _recv_until(ws, expected):
    got = []
    while expected not in got:
        got.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return got


async def _conversation(port_a, port_b):
    alice = await ws_connect("ws://127.0.0.1:%d/lobby" % port_a)
    await _recv_until(alice, "* guest-1 joined lobby")
    await alice.send("/name alice")
    await _recv_until(alice, "* guest-1 is now alice")
    bob = await ws_connect("ws://127.0.0.1:%d/lobby" % port_b)
    first = await asyncio.wait_for(bob.recv(), TIMEOUT)
    assert first.endswith(" joined lobby")
    bob_guest = first[2:].split()[0]
    await _recv_until(alice, first)
    await bob.send("/name bob")
    await _recv_until(alice, "* %s is now bob" % bob_guest)
    await alice.send("hello bob")
    await _recv_until(bob, "alice: hello bob")
    await bob.send(b"\x00\xffpicture")
    assert b"\x00\xffpicture" in await _recv_until(alice, b"\x00\xffpicture")
    await bob.send("/join kitchen")
    await _recv_until(alice, "* bob left lobby")
    await alice.send("anyone?")
    await _recv_until(alice, "alice: anyone?")
    await bob.send("in the kitchen")
    in_kitchen = await _recv_until(bob, "bob: in the kitchen")
    assert "alice: anyone?" not in in_kitchen  # the lobby is not the kitchen
    await bob.close()
    await alice.close()


def test_chat_one_process(impl):
    port = _free_port()
    proc = _start_chat(port, impl.name)
    try:
        asyncio.run(asyncio.wait_for(_conversation(port, port), TIMEOUT * 2))
    finally:
        _stop(proc)


def test_chat_two_processes_share_rooms_through_redis(redis_server, impl):  # noqa: F811
    pytest.importorskip("redis", reason="the redis package (wsframe[redis]) is not installed")
    ports = [_free_port(), _free_port()]
    procs = []
    try:
        for port in ports:
            procs.append(_start_chat(port, impl.name, redis_server.url))
        asyncio.run(asyncio.wait_for(_conversation(*ports), TIMEOUT * 2))
    finally:
        for proc in procs:
            _stop(proc)
