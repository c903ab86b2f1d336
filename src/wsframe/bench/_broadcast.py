"""Broadcast benchmark: one message fanned out to many connections, and across processes
through Redis.

    python -m wsframe.bench._broadcast [--quick] [--rounds N] [--json FILE]

Fan-out: each library's server in its own process (wsframe.asyncio ``broadcast()``,
websockets ``broadcast()``, aiohttp a loop of ``await ws.send_str``, picows a loop of
``transport.send``; plain asyncio loop, no compression, no pings) holds N connections
opened by a separate load process (raw sockets that count the bytes they receive, after
checking each connection's first frame byte for byte). One round: the server sends
``count`` text messages of 32 B or 1 KiB, each to all N connections, letting its event
loop run between broadcasts (so no library gets to coalesce broadcasts), until every
write buffer is drained; the load process reports when every connection has received
every byte. Per recipient (one message delivered to one connection): the server
process's CPU time (user + system, ``getrusage``) and the wall time from the first
broadcast to the last byte received. Libraries alternate within each round; medians
over rounds, spread = (max - min) / 2 / median.

Through Redis (a ``redis-server`` started on a free loopback port, when installed):
a publisher process and a subscriber process, each with a ``RedisBroker``: broadcasts
per second (sequential ``await publish``, until the subscriber got them all) and the
added latency (publish call to delivery in the other process, one message every 2 ms).

``run(quick)`` returns the rows; ``run_section(mode, emit, ...)`` is the
``python -m wsframe bench --only broadcast`` section.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import queue

LIBRARIES = ("wsframe.asyncio", "websockets", "aiohttp", "picows")
# The same servers on uvloop (where installed): wsframe.asyncio and picows, whose own
# overhead per write is smallest, so the event loop's share shows most.
UVLOOP_LIBRARIES = ("wsframe.asyncio+uvloop", "picows+uvloop")
SIZES = (32, 1024)
PLANS = {
    # connections -> broadcasts per round (about 100-200 k deliveries a round)
    "quick": {"rounds": 3, "count": {1000: 100, 10000: 10}, "redis_messages": 2000, "latency_messages": 300},
    "full": {"rounds": 5, "count": {1000: 200, 10000: 20}, "redis_messages": 5000, "latency_messages": 1000},
}
CONNECTIONS = (1000, 10000)
OPEN_BATCH = 100  # connections opened concurrently by the load process
OPEN_TIMEOUT = 60  # handshake timeout of every server: 10,000 handshakes on a busy machine
STEP_TIMEOUT = 120.0


# ---------------------------------------------------------------------------------------
# helpers shared by the processes


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def text_message(size: int) -> str:
    return ("broadcast " * (size // 10 + 1))[:size]


def frame_of(size: int) -> bytes:
    """The unmasked text frame every server sends for ``text_message(size)``."""
    payload = text_message(size).encode()
    if size < 126:
        head = bytes([0x81, size])
    else:
        head = bytes([0x81, 126]) + size.to_bytes(2, "big")
    return head + payload


class _Control:
    """JSON lines on stdin/stdout between the driver and a child process."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader

    async def read(self):
        line = await self.reader.readline()
        return json.loads(line) if line else None

    @staticmethod
    def write(obj) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


async def _stdin_reader() -> _Control:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return _Control(reader)


# ---------------------------------------------------------------------------------------
# the servers (one process per library)


class _Fanout:
    """A library's server: ``conns``, ``send_all(message)`` (one broadcast, may await),
    ``buffered()`` (bytes still in write buffers)."""

    conns: list

    async def start(self, port: int) -> None:
        raise NotImplementedError

    async def send_all(self, message: str) -> None:
        raise NotImplementedError

    def buffered(self) -> int:
        raise NotImplementedError


class _WsframeFanout(_Fanout):
    async def start(self, port):
        from wsframe.asyncio import broadcast, serve

        self._broadcast = broadcast
        self.conns = []

        async def handler(conn):
            self.conns.append(conn)
            try:
                async for _ in conn:
                    pass
            finally:
                self.conns.remove(conn)

        self.server = await serve(handler, "127.0.0.1", port, backlog=1024, ping_interval=None,
                                  write_limit=1 << 22, open_timeout=OPEN_TIMEOUT)

    async def send_all(self, message):
        self._broadcast(self.conns, message)

    def buffered(self):
        return sum(c.buffered_amount for c in self.conns)


class _WebsocketsFanout(_Fanout):
    async def start(self, port):
        from websockets.asyncio.server import broadcast, serve

        self._broadcast = broadcast
        self.conns = []

        async def handler(ws):
            self.conns.append(ws)
            try:
                await ws.wait_closed()
            finally:
                self.conns.remove(ws)

        self.server = await serve(handler, "127.0.0.1", port, backlog=1024, ping_interval=None,
                                  compression=None, write_limit=1 << 22, open_timeout=OPEN_TIMEOUT)

    async def send_all(self, message):
        self._broadcast(self.conns, message)

    def buffered(self):
        return sum(ws.transport.get_write_buffer_size() for ws in self.conns)


class _AiohttpFanout(_Fanout):
    async def start(self, port):
        from aiohttp import web

        self.conns = []
        self.transports = {}

        async def handler(request):
            ws = web.WebSocketResponse(compress=False, autoping=True)
            await ws.prepare(request)
            self.conns.append(ws)
            self.transports[ws] = request.transport
            try:
                async for _ in ws:
                    pass
            finally:
                self.conns.remove(ws)
                del self.transports[ws]
            return ws

        app = web.Application()
        app.router.add_get("/", handler)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port, backlog=1024).start()

    async def send_all(self, message):
        for ws in self.conns:  # what an aiohttp application writes: a loop of send_str
            await ws.send_str(message)

    def buffered(self):
        return sum(t.get_write_buffer_size() for t in self.transports.values() if t is not None)


class _PicowsFanout(_Fanout):
    async def start(self, port):
        import picows

        self.conns = []
        self._text = picows.WSMsgType.TEXT
        conns = self.conns

        class Listener(picows.WSListener):
            def on_ws_connected(self, transport):
                conns.append(transport)

            def on_ws_disconnected(self, transport):
                conns.remove(transport)

        self.server = await picows.ws_create_server(lambda request: Listener(), "127.0.0.1", port,
                                                    backlog=1024, websocket_handshake_timeout=OPEN_TIMEOUT)

    async def send_all(self, message):
        payload = message.encode()  # picows sends bytes; encoded once, as an application would
        text = self._text
        for transport in self.conns:
            transport.send(text, payload)

    def buffered(self):
        return sum(t.underlying_transport.get_write_buffer_size() for t in self.conns)


_FANOUTS = {
    "wsframe.asyncio": _WsframeFanout,
    "websockets": _WebsocketsFanout,
    "aiohttp": _AiohttpFanout,
    "picows": _PicowsFanout,
}


async def _serve_main(library: str, port: int) -> None:
    raise_nofile(65536)
    fanout = _FANOUTS[library.split("+")[0]]()
    await fanout.start(port)
    control = await _stdin_reader()
    control.write({"ready": True})
    loop = asyncio.get_running_loop()
    while True:
        cmd = await control.read()
        if cmd is None or cmd["cmd"] == "quit":
            return
        if cmd["cmd"] == "wait":
            deadline = loop.time() + STEP_TIMEOUT
            while len(fanout.conns) < cmd["n"] and loop.time() < deadline:
                await asyncio.sleep(0.01)
            control.write({"connections": len(fanout.conns)})
        elif cmd["cmd"] == "fanout":
            message = text_message(cmd["size"])
            count = cmd["count"]
            cpu0 = cpu_seconds()
            t0 = time.monotonic()
            for _ in range(count):
                await fanout.send_all(message)
                await asyncio.sleep(0)  # the loop runs between broadcasts (flushes, reads)
            deadline = loop.time() + STEP_TIMEOUT
            poll = cmd.get("poll", 0.0005)  # long under callgrind: polling is not the fan-out
            while fanout.buffered() and loop.time() < deadline:
                await asyncio.sleep(poll)
            t_sent = time.monotonic()
            cpu = cpu_seconds() - cpu0
            control.write({"t0": t0, "t_sent": t_sent, "cpu_s": cpu, "connections": len(fanout.conns)})


# ---------------------------------------------------------------------------------------
# the load process: N raw connections counting bytes


class _Counter(asyncio.Protocol):
    __slots__ = ("load", "transport", "head", "received", "first", "open")

    def __init__(self, load):
        self.load = load
        self.head = b""
        self.received = 0
        self.first = None
        self.open = None

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())

    def data_received(self, data):
        if self.open is None or not self.open.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = self.head.startswith(b"HTTP/1.1 101")
            rest = self.head[end + 4:]
            self.head = b""
            if self.open is not None:
                self.open.set_result(ok)
            if not rest:
                return
            data = rest
        load = self.load
        first = self.first
        if first is None or len(first) < load.check_len:
            first = first or b""
            self.first = first + bytes(data[:load.check_len - len(first)])
        before = self.received
        self.received = before + len(data)
        if before < load.target <= self.received:
            load.remaining -= 1
            if load.remaining == 0 and load.done is not None and not load.done.done():
                load.done.set_result(time.monotonic())

    def connection_lost(self, exc):
        if self.open is not None and not self.open.done():
            self.open.set_result(False)
        self.load.lost += 1


class _Load:
    def __init__(self):
        self.protocols = []
        self.target = 1 << 62
        self.remaining = 0
        self.done = None
        self.lost = 0
        self.check_len = 0


async def _load_main(port: int, n: int, source_ip: str) -> None:
    raise_nofile(n + 1024)
    loop = asyncio.get_running_loop()
    load = _Load()

    async def open_one():
        for attempt in range(3):  # a busy server may drop a handshake: try again
            proto = _Counter(load)
            proto.open = loop.create_future()
            transport, _ = await loop.create_connection(lambda: proto, "127.0.0.1", port,
                                                        local_addr=(source_ip, 0))
            if await asyncio.wait_for(proto.open, STEP_TIMEOUT):
                load.protocols.append(proto)
                return
            transport.close()
            load.lost -= 1  # not a connection of the measurement
        raise ConnectionError("handshake refused 3 times")

    control = await _stdin_reader()
    error = None
    try:
        for start in range(0, n, OPEN_BATCH):
            await asyncio.gather(*[open_one() for _ in range(min(OPEN_BATCH, n - start))])
    except (OSError, asyncio.TimeoutError) as exc:
        error = "%s after %d connections" % (exc, len(load.protocols))
    control.write({"ready": error is None, "error": error, "connections": len(load.protocols)})
    while True:
        cmd = await control.read()
        if cmd is None or cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "expect":  # every connection will receive this many more bytes
            expected = base64.b64decode(cmd["first"])
            load.check_len = len(expected)
            for p in load.protocols:
                p.received = 0
                p.first = None
            load.target = cmd["bytes"]
            load.remaining = len(load.protocols)
            load.done = loop.create_future()
            cpu0 = cpu_seconds()
            control.write({"armed": True})
            try:
                t_done = await asyncio.wait_for(load.done, STEP_TIMEOUT)
                bad = sum(1 for p in load.protocols if p.first != expected)
                control.write({"t_done": t_done, "cpu_s": cpu_seconds() - cpu0, "bad_first": bad,
                               "lost": load.lost})
            except asyncio.TimeoutError:
                control.write({"error": "%d connections still waiting" % load.remaining})
    for p in load.protocols:
        p.transport.close()


# ---------------------------------------------------------------------------------------
# the driver


class _Child:
    """A child process of this module speaking JSON lines."""

    def __init__(self, *args: str, prefix: tuple = ()):
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(list(prefix) + [sys.executable, "-m", "wsframe.bench._broadcast"] + list(args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, obj) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def recv(self, timeout: float = STEP_TIMEOUT):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no answer from %s in %s s" % (self.proc.args[3:], timeout)) from None
        if not line:
            raise EOFError("%s exited: %s" % (self.proc.args[3:], self.proc.stderr.read()[-1500:]))
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send({"cmd": "quit"})
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _available(library: str):
    try:
        for module in library.split("+"):
            __import__(module)
    except ImportError as exc:
        return "not installed (%s)" % exc
    return None


def _spread(values):
    if len(values) < 2:
        return 0.0
    return (max(values) - min(values)) / 2 / statistics.median(values)


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def fanout_rows(mode: str = "quick", rounds: int | None = None, emit=print, rng=None, connections=None,
                libraries=None, count=None):
    """Measure the fan-out; returns one row per (connections, size, library)."""
    plan = PLANS[mode]
    rounds = rounds or plan["rounds"]
    rng = rng or random.Random()
    connections = connections or CONNECTIONS
    libraries = libraries or LIBRARIES + UVLOOP_LIBRARIES
    count_override = count
    raise_nofile(4096)
    rows, skipped = [], []
    wanted, libraries = libraries, []
    for lib in wanted:
        reason = _available(lib)
        if reason:
            skipped.append({"library": lib, "reason": reason})
            emit("  %s: skipped: %s" % (lib, reason))
        else:
            libraries.append(lib)
    for n in connections:
        servers, loads = {}, {}
        try:
            # One library at a time: 10,000 handshakes at once per library, not for all.
            for i, lib in enumerate(libraries):
                port = _free_port()
                server = servers[lib] = _Child("--serve", lib, str(port))
                server.recv()
                # Each load process from its own source address: 6 x 10,000 connections
                # would exhaust one address's ephemeral ports.
                loads[lib] = _Child("--load", str(port), str(n), "127.0.0.%d" % (10 + i))
                ready = loads[lib].recv(STEP_TIMEOUT + 60)
                got = 0
                if ready["ready"]:
                    server.send({"cmd": "wait", "n": n})
                    got = server.recv(STEP_TIMEOUT + 30)["connections"]
                if not ready["ready"] or got < n:
                    skipped.append({"library": lib, "reason": "%d connections: %s" % (n, ready.get("error") or got)})
                    emit("  %s: skipped at %d connections: %s" % (lib, n, ready.get("error") or got))
            active = [lib for lib in libraries if not any(s["library"] == lib and str(n) in s["reason"] for s in skipped)]
            for size in SIZES:
                count = count_override or plan["count"].get(n) or max(1, 100000 // n)
                frame = frame_of(size)
                results = {lib: [] for lib in active}
                la0 = _loadavg()
                for _ in range(rounds):
                    order = list(active)
                    rng.shuffle(order)
                    for lib in order:
                        loads[lib].send({"cmd": "expect", "bytes": len(frame) * count,
                                         "first": base64.b64encode(frame).decode()})
                        loads[lib].recv()
                        servers[lib].send({"cmd": "fanout", "size": size, "count": count})
                        srv = servers[lib].recv()
                        cli = loads[lib].recv()
                        if "error" in cli or cli.get("bad_first"):
                            raise RuntimeError("%s: %s" % (lib, cli))
                        deliveries = count * n
                        results[lib].append({
                            "cpu_per_recipient_s": srv["cpu_s"] / deliveries,
                            "wall_per_recipient_s": (cli["t_done"] - srv["t0"]) / deliveries,
                            "load_cpu_per_recipient_s": cli["cpu_s"] / deliveries,
                        })
                la1 = _loadavg()
                for lib in active:
                    rs = results[lib]
                    cpu = [r["cpu_per_recipient_s"] for r in rs]
                    wall = [r["wall_per_recipient_s"] for r in rs]
                    row = {
                        "connections": n, "size": size, "library": lib, "broadcasts_per_round": count,
                        "rounds": len(rs),
                        "cpu_per_recipient_s": statistics.median(cpu), "cpu_spread": _spread(cpu),
                        "wall_per_recipient_s": statistics.median(wall), "wall_spread": _spread(wall),
                        "load_cpu_per_recipient_s": statistics.median(r["load_cpu_per_recipient_s"] for r in rs),
                        "loadavg": [la0, la1],
                    }
                    rows.append(row)
                    emit("  %6d conns %5s %-16s CPU %6.2f us/recipient (+-%2.0f%%), wall %6.2f us/recipient (+-%2.0f%%)" % (
                        n, _size_label(size), lib, row["cpu_per_recipient_s"] * 1e6, 100 * row["cpu_spread"],
                        row["wall_per_recipient_s"] * 1e6, 100 * row["wall_spread"]))
        finally:
            for child in list(loads.values()) + list(servers.values()):
                child.stop()
    return rows, skipped


def _size_label(size):
    return "%d B" % size if size < 1024 else "%d KiB" % (size // 1024)


# -- user-space instructions per recipient (callgrind) -----------------------------------


def instruction_rows(connections: int = 200, count: int = 20, libraries=LIBRARIES + UVLOOP_LIBRARIES, emit=print):
    """Each server under valgrind's callgrind: the instructions it executes in user space
    during one fan-out round (counters zeroed before, dumped after, with
    ``callgrind_control``), per recipient. Deterministic, unlike CPU time on a busy
    machine; the kernel's share of each send (the same for every library) is not in it."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return [], [{"library": "callgrind", "reason": "valgrind is not installed"}]
    rows, skipped = [], []
    out_dir = tempfile.mkdtemp(prefix="wsframe-bench-callgrind-")
    try:
        for i, lib in enumerate(libraries):
            reason = _available(lib)
            if reason:
                skipped.append({"library": lib, "reason": reason})
                continue
            port = _free_port()
            out_file = os.path.join(out_dir, "%d.out" % i)
            server = _Child("--serve", lib, str(port), prefix=(
                "valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file + ".%p",
                "--dump-instr=no", "--dump-line=no", "--compress-strings=no"))
            load = None
            try:
                server.recv(600)
                load = _Child("--load", str(port), str(connections), "127.0.0.%d" % (30 + i))
                load.recv(600)
                server.send({"cmd": "wait", "n": connections})
                server.recv(600)
                for size in SIZES:
                    frame = frame_of(size)
                    load.send({"cmd": "expect", "bytes": len(frame) * count,
                               "first": base64.b64encode(frame).decode()})
                    load.recv(600)
                    before = set(os.listdir(out_dir))
                    subprocess.run(["callgrind_control", "--zero", str(server.proc.pid)], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                    server.send({"cmd": "fanout", "size": size, "count": count, "poll": 0.5})
                    server.recv(600)
                    load.recv(600)
                    subprocess.run(["callgrind_control", "--dump", str(server.proc.pid)], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                    new = sorted(set(os.listdir(out_dir)) - before)
                    instructions = _callgrind_total(os.path.join(out_dir, new[-1])) if new else None
                    if instructions is None:
                        skipped.append({"library": lib, "reason": "no callgrind dump"})
                        continue
                    row = {"library": lib, "connections": connections, "size": size, "broadcasts": count,
                           "instructions_per_recipient": instructions / (count * connections)}
                    rows.append(row)
                    emit("  callgrind %-24s %5s: %7.0f user-space instructions per recipient" % (
                        lib, _size_label(size), row["instructions_per_recipient"]))
            except (TimeoutError, EOFError, subprocess.SubprocessError) as exc:
                skipped.append({"library": lib, "reason": "under callgrind: %s" % exc})
            finally:
                if load is not None:
                    load.stop()
                server.stop()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return rows, skipped


def _callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return None


# -- through Redis ---------------------------------------------------------------------


class _RedisServer:
    def __init__(self):
        self.exe = shutil.which("redis-server")
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="wsframe-bench-redis-")
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


async def _subscriber_main(url: str) -> None:
    from wsframe.asyncio import RedisBroker

    control = await _stdin_reader()
    received = []
    state = {"expect": 0, "done": None}

    def on_message(message):
        received.append((time.monotonic(), message))
        if len(received) >= state["expect"] and state["done"] is not None and not state["done"].done():
            state["done"].set_result(None)

    async with RedisBroker(url) as broker:
        await broker.wait_connected(10)
        await broker.subscribe("bench", on_message=on_message)
        control.write({"ready": True})
        while True:
            cmd = await control.read()
            if cmd is None or cmd["cmd"] == "quit":
                return
            received.clear()
            state["expect"] = cmd["n"]
            state["done"] = asyncio.get_running_loop().create_future()
            cpu0 = cpu_seconds()
            control.write({"armed": True})
            try:
                await asyncio.wait_for(state["done"], STEP_TIMEOUT)
            except asyncio.TimeoutError:
                pass
            cpu = cpu_seconds() - cpu0
            latencies = [t - float(m.split(" ", 1)[0]) for t, m in received]
            control.write({"received": len(received), "t_last": received[-1][0] if received else None,
                           "cpu_s": cpu, "latencies": latencies if cmd.get("latency") else None})


async def _publish_rounds(url, sub, plan, rounds, emit):
    from wsframe.asyncio import RedisBroker

    out = {"throughput": [], "latency": [], "publisher_cpu": [], "subscriber_cpu": [],
           "throughput_batched": [], "publisher_cpu_batched": [], "subscriber_cpu_batched": []}
    async with RedisBroker(url) as broker:
        await broker.wait_connected(10)
        numsub = 0
        deadline = time.monotonic() + 10
        while numsub < 1 and time.monotonic() < deadline:
            numsub = dict(await broker._publisher.pubsub_numsub("bench")).get(b"bench", 0)
            await asyncio.sleep(0.01)
        pad = "x" * 8
        for _ in range(rounds):
            m = plan["redis_messages"]
            sub.send({"cmd": "arm", "n": m})
            sub.recv()
            cpu0 = cpu_seconds()
            t0 = time.monotonic()
            for _ in range(m):
                await broker.publish("bench", "%.9f %s" % (time.monotonic(), pad))
            pub_cpu = cpu_seconds() - cpu0
            res = sub.recv()
            if res["received"] < m:
                raise RuntimeError("the subscriber got %d of %d" % (res["received"], m))
            out["throughput"].append(m / (res["t_last"] - t0))
            out["publisher_cpu"].append(pub_cpu / m)
            out["subscriber_cpu"].append(res["cpu_s"] / m)
            # The same messages published at once (many tasks): pipelined batches.
            sub.send({"cmd": "arm", "n": m})
            sub.recv()
            cpu0 = cpu_seconds()
            t0 = time.monotonic()
            await asyncio.gather(*[broker.publish("bench", "%.9f %s" % (time.monotonic(), pad)) for _ in range(m)])
            batched_cpu = cpu_seconds() - cpu0
            res = sub.recv()
            if res["received"] < m:
                raise RuntimeError("the subscriber got %d of %d" % (res["received"], m))
            out["throughput_batched"].append(m / (res["t_last"] - t0))
            out["publisher_cpu_batched"].append(batched_cpu / m)
            out["subscriber_cpu_batched"].append(res["cpu_s"] / m)
            k = plan["latency_messages"]
            sub.send({"cmd": "arm", "n": k, "latency": True})
            sub.recv()
            for _ in range(k):
                await broker.publish("bench", "%.9f %s" % (time.monotonic(), pad))
                await asyncio.sleep(0.002)
            res = sub.recv()
            lat = sorted(res["latencies"])
            out["latency"].append((statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]))
    return out


def redis_rows(mode: str = "quick", rounds: int | None = None, emit=print):
    """Broadcasts per second and added latency across two processes through Redis."""
    plan = PLANS[mode]
    rounds = rounds or plan["rounds"]
    if shutil.which("redis-server") is None:
        return [], [{"library": "RedisBroker", "reason": "redis-server is not installed"}]
    try:
        import redis  # noqa: F401
    except ImportError:
        return [], [{"library": "RedisBroker", "reason": "the redis package is not installed (wsframe[redis])"}]
    server = _RedisServer()
    sub = None
    try:
        sub = _Child("--subscribe", server.url)
        sub.recv()
        out = asyncio.run(_publish_rounds(server.url, sub, plan, rounds, emit))
    finally:
        if sub is not None:
            sub.stop()
        server.stop()
    thr = out["throughput"]
    med = [m for m, _ in out["latency"]]
    p99 = [p for _, p in out["latency"]]
    row = {
        "library": "RedisBroker", "rounds": rounds, "messages": plan["redis_messages"], "size": 32,
        "broadcasts_per_s": statistics.median(thr), "broadcasts_spread": _spread(thr),
        "latency_median_s": statistics.median(med), "latency_median_spread": _spread(med),
        "latency_p99_s": statistics.median(p99),
        "publisher_cpu_per_broadcast_s": statistics.median(out["publisher_cpu"]),
        "subscriber_cpu_per_broadcast_s": statistics.median(out["subscriber_cpu"]),
        "batched_broadcasts_per_s": statistics.median(out["throughput_batched"]),
        "batched_spread": _spread(out["throughput_batched"]),
        "batched_publisher_cpu_per_broadcast_s": statistics.median(out["publisher_cpu_batched"]),
        "batched_subscriber_cpu_per_broadcast_s": statistics.median(out["subscriber_cpu_batched"]),
    }
    emit("  Redis: %.0f broadcasts/s (+-%.0f%%, sequential await publish), added latency median %.0f us "
         "(+-%.0f%%), p99 %.0f us; CPU per broadcast: publisher %.1f us, subscriber %.1f us" % (
             row["broadcasts_per_s"], 100 * row["broadcasts_spread"], row["latency_median_s"] * 1e6,
             100 * row["latency_median_spread"], row["latency_p99_s"] * 1e6,
             row["publisher_cpu_per_broadcast_s"] * 1e6, row["subscriber_cpu_per_broadcast_s"] * 1e6))
    emit("  Redis, %d publishes at once (pipelined): %.0f broadcasts/s (+-%.0f%%); CPU per broadcast: "
         "publisher %.1f us, subscriber %.1f us" % (
             row["messages"], row["batched_broadcasts_per_s"], 100 * row["batched_spread"],
             row["batched_publisher_cpu_per_broadcast_s"] * 1e6, row["batched_subscriber_cpu_per_broadcast_s"] * 1e6))
    return [row], []


def run(quick: bool = True, rounds: int | None = None, emit=print):
    """Every figure of this benchmark: fan-out rows then the Redis row."""
    mode = "quick" if quick else "full"
    rows, skipped = fanout_rows(mode, rounds, emit)
    rrows, rskipped = redis_rows(mode, rounds, emit)
    for s in skipped + rskipped:
        emit("  skipped: %s: %s" % (s["library"], s["reason"]))
    return rows + rrows


def run_section(mode, emit, progress=None, rounds=None, seed=None):
    """The ``broadcast`` section of ``python -m wsframe bench`` (e2e-style groups: one per
    connections x size, ``msgs_per_s`` = deliveries per second, ``server_cpu_per_msg_s`` =
    server CPU per recipient)."""
    mode = "full" if mode == "full" else "quick"
    t0 = time.time()
    rng = random.Random(seed)
    rows, skipped = fanout_rows(mode, rounds, emit, rng)
    groups = []
    for n in sorted({r["connections"] for r in rows}):
        for size in SIZES:
            grow = []
            for r in rows:
                if r["connections"] == n and r["size"] == size:
                    grow.append({"name": r["library"], "library": r["library"].split("+")[0].split(".")[0],
                                 "kind": "wsframe" if r["library"].startswith("wsframe") else "peer",
                                 "msgs_per_s": 1.0 / r["wall_per_recipient_s"], "spread": r["wall_spread"],
                                 "server_cpu_per_msg_s": r["cpu_per_recipient_s"],
                                 "server_cpu_spread": r["cpu_spread"],
                                 "client_cpu_per_msg_s": r["load_cpu_per_recipient_s"],
                                 "noisy": max(r["wall_spread"], r["cpu_spread"]) > 0.1,
                                 "reference": r["library"] == "wsframe.asyncio"})
            if grow:
                groups.append({"variant": "%d connections" % n, "size": size, "item": "recipient",
                               "label": "%d conns, %s" % (n, _size_label(size)),
                               "params": {"connections": n, "size": size},
                               "rows": grow, "skipped": [], "loadavg": rows and [r for r in rows if r["connections"] == n][0]["loadavg"]})
    rrows, rskipped = redis_rows(mode, rounds, emit)
    for r in rrows:  # as a group too, so that the e2e-style table shows it
        groups.append({"variant": "2 processes through Redis", "size": r["size"], "item": "broadcast",
                       "label": "Redis, 2 processes, %s (CPU: subscriber's; latency median %.0f us)" % (
                           _size_label(r["size"]), r["latency_median_s"] * 1e6),
                       "params": {"processes": 2, "size": r["size"]},
                       "rows": [
                           {"name": "RedisBroker, sequential publish", "library": "wsframe", "kind": "wsframe",
                            "msgs_per_s": r["broadcasts_per_s"], "spread": r["broadcasts_spread"],
                            "server_cpu_per_msg_s": r["subscriber_cpu_per_broadcast_s"],
                            "noisy": r["broadcasts_spread"] > 0.1, "reference": True},
                           {"name": "RedisBroker, publishes at once", "library": "wsframe", "kind": "wsframe",
                            "msgs_per_s": r["batched_broadcasts_per_s"], "spread": r["batched_spread"],
                            "server_cpu_per_msg_s": r["batched_subscriber_cpu_per_broadcast_s"],
                            "noisy": r["batched_spread"] > 0.1, "reference": False}],
                       "skipped": [], "loadavg": []})
    return {"kind": "broadcast", "groups": groups, "skipped": skipped + rskipped, "redis": rrows,
            "settings": {"rounds": rounds or PLANS[mode]["rounds"], "message": "text",
                         "compression": "off", "event_loop": "asyncio (default)"},
            "wall_time_s": round(time.time() - t0, 2)}


def markdown(rows) -> str:
    """The fan-out table (CPU and wall time per recipient) and the Redis line."""
    fan = [r for r in rows if "connections" in r]
    out = []
    if fan:
        cols = sorted({(r["connections"], r["size"]) for r in fan})
        out.append("| server | " + " | ".join("%d conns, %s" % (n, _size_label(s)) for n, s in cols) + " |")
        out.append("| --- |" + " ---: |" * len(cols))
        for lib in LIBRARIES + UVLOOP_LIBRARIES:
            cells = []
            for n, s in cols:
                r = next((x for x in fan if x["library"] == lib and x["connections"] == n and x["size"] == s), None)
                cells.append("-" if r is None else "%.2f us CPU +-%.0f%%, %.2f us wall +-%.0f%%" % (
                    r["cpu_per_recipient_s"] * 1e6, 100 * r["cpu_spread"],
                    r["wall_per_recipient_s"] * 1e6, 100 * r["wall_spread"]))
            if any(c != "-" for c in cells):
                out.append("| %s | %s |" % (lib, " | ".join(cells)))
    for r in rows:
        if r.get("library") == "RedisBroker":
            out.append("")
            out.append("Through Redis (two processes, 32 B, %d rounds): %.0f broadcasts/s (+-%.0f%%), added latency "
                       "median %.0f us (p99 %.0f us); CPU per broadcast: publisher %.1f us, subscriber %.1f us." % (
                           r["rounds"], r["broadcasts_per_s"], 100 * r["broadcasts_spread"],
                           r["latency_median_s"] * 1e6, r["latency_p99_s"] * 1e6,
                           r["publisher_cpu_per_broadcast_s"] * 1e6, r["subscriber_cpu_per_broadcast_s"] * 1e6))
            if "batched_broadcasts_per_s" in r:
                out.append("")
                out.append("The same %d messages published at once (pipelined batches): %.0f broadcasts/s (+-%.0f%%); "
                           "CPU per broadcast: publisher %.1f us, subscriber %.1f us." % (
                               r["messages"], r["batched_broadcasts_per_s"], 100 * r["batched_spread"],
                               r["batched_publisher_cpu_per_broadcast_s"] * 1e6,
                               r["batched_subscriber_cpu_per_broadcast_s"] * 1e6))
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsframe.bench._broadcast", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer broadcasts and rounds")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--connections", type=lambda s: tuple(int(x) for x in s.split(",")), default=CONNECTIONS)
    parser.add_argument("--libraries", type=lambda s: tuple(s.split(",")), default=LIBRARIES + UVLOOP_LIBRARIES,
                        help="comma-separated, among: %s" % ", ".join(LIBRARIES + UVLOOP_LIBRARIES))
    parser.add_argument("--no-redis", action="store_true", help="skip the cross-process figures")
    parser.add_argument("--no-fanout", action="store_true", help="only the cross-process figures")
    parser.add_argument("--instructions", action="store_true",
                        help="also: user-space instructions per recipient under callgrind (200 connections)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--serve", nargs=2, metavar=("LIBRARY", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=3, metavar=("PORT", "N", "SOURCE_IP"), help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        if args.serve[0].endswith("+uvloop"):
            _use_uvloop()
        asyncio.run(_serve_main(args.serve[0], int(args.serve[1])))
        return 0
    if args.load:
        _use_uvloop()
        asyncio.run(_load_main(int(args.load[0]), int(args.load[1]), args.load[2]))
        return 0
    if args.subscribe:
        asyncio.run(_subscriber_main(args.subscribe))
        return 0
    mode = "quick" if args.quick else "full"
    print("broadcast benchmark (%s): %s, load average %s" % (mode, " ".join(sys.argv), _loadavg()), flush=True)
    rows, skipped = [], []
    if not args.no_fanout:
        rows, skipped = fanout_rows(mode, args.rounds, connections=args.connections, libraries=args.libraries)
    if args.instructions:
        irows, iskipped = instruction_rows(libraries=args.libraries)
        skipped += iskipped
        if irows:
            print()
            print("| server (callgrind, %d connections, %d broadcasts) | %s |" % (
                irows[0]["connections"], irows[0]["broadcasts"], " | ".join(_size_label(x) for x in SIZES)))
            print("| --- |" + " ---: |" * len(SIZES))
            for lib in args.libraries:
                cells = [next(("%.0f" % r["instructions_per_recipient"] for r in irows
                               if r["library"] == lib and r["size"] == size), "-") for size in SIZES]
                if any(c != "-" for c in cells):
                    print("| %s | %s |" % (lib, " | ".join(cells)))
    if not args.no_redis:
        rrows, rskipped = redis_rows(mode, args.rounds)
        rows += rrows
        skipped += rskipped
    print()
    print(markdown(rows))
    for s in skipped:
        print("skipped: %s: %s" % (s["library"], s["reason"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "skipped": skipped, "loadavg": _loadavg()}, f, indent=1)
    return 0


def _use_uvloop():
    """The load process runs on uvloop when installed (it should cost as little as can be)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    sys.exit(main())
