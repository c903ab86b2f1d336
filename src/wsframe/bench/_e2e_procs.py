"""The processes of the end-to-end sections: echo servers and load clients.

    python -m wsframe.bench._e2e_procs server LIBRARY --port PORT [--install]
    python -m wsframe.bench._e2e_procs client LIBRARY [--install]

A server prints ``READY {json}`` once it listens (or ``SKIP reason``) and serves until it
is terminated. A client prints ``READY {json}``, then reads one JSON command per line on
stdin (``port``, ``size``, ``connections``, ``inflight``, ``warmup``, ``window``,
``server_pid``, ``timeout``) and answers each with one JSON line: messages echoed during
the window, the window's wall time, the client's CPU time (its whole process) and the
server's CPU time (read from /proc, None elsewhere) over the same window.

Every server is the library's idiomatic echo server (its documented way to write one,
default options, the default asyncio event loop); the clients send binary messages of
one size and keep ``inflight`` of them outstanding per connection. ``--install`` runs
``wsframe.integrations.install(LIBRARY)`` in the process before anything else.
"""

import argparse
import asyncio
import glob
import json
import os
import sys
import time

HOST = "127.0.0.1"
MAX_SIZE = 1 << 24


# -- CPU time of another process --------------------------------------------------------


def process_cpu(pid):
    """CPU seconds used so far by process ``pid`` (all its threads), None without /proc.

    /proc/<pid>/task/*/schedstat is in nanoseconds; /proc/<pid>/stat (clock ticks, 10 ms)
    is the fallback where schedstat is absent.
    """
    if pid is None:
        return None
    total = 0
    found = False
    for path in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
                found = True
        except (OSError, ValueError, IndexError):
            continue
    if found and total > 0:
        return total / 1e9
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# -- servers -------------------------------------------------------------------------------


async def _forever():
    await asyncio.get_running_loop().create_future()


async def server_websockets(port):
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, HOST, port):
        _ready()
        await _forever()


async def server_aiohttp(port):
    from aiohttp import WSMsgType, web

    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    _ready()
    await _forever()


async def server_tornado(port):
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message):
            self.write_message(message, binary=isinstance(message, bytes))

    tornado.web.Application([(r"/", Echo)]).listen(port, HOST)
    _ready()
    await _forever()


async def server_picows(port):
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_frame(self, transport, frame):
            if frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif frame.msg_type in (WSMsgType.BINARY, WSMsgType.TEXT, WSMsgType.CONTINUATION):
                transport.send(frame.msg_type, frame.get_payload_as_memoryview(), frame.fin)

    server = await ws_create_server(lambda request: Echo(), HOST, port)
    async with server:
        _ready()
        await _forever()


async def server_wsframe_asyncio(port):
    # The API of issue 14: serve(handler, host, port) usable with ``async with``.
    from wsframe.asyncio import serve

    async def echo(conn):
        async for message in conn:
            await conn.send(message)

    async with serve(echo, HOST, port):
        _ready()
        await _forever()


SERVERS = {
    "websockets": ("websockets", server_websockets),
    "aiohttp": ("aiohttp", server_aiohttp),
    "tornado": ("tornado", server_tornado),
    "picows": ("picows", server_picows),
    "wsframe.asyncio": ("wsframe.asyncio", server_wsframe_asyncio),
}

_INFO = {}


def _ready():
    sys.stdout.write("READY %s\n" % json.dumps(_INFO))
    sys.stdout.flush()


# -- clients ---------------------------------------------------------------------------------


class _State(object):
    """Counters shared by the connections of one measurement."""

    def __init__(self, payload):
        self.payload = payload
        self.received = 0
        self.sending = True
        self.opened = 0
        self.error = None


class _LoadProtocol(asyncio.Protocol):
    """One connection of the load client: wsframe's codec over an ``asyncio.Protocol``.

    The masked frame is built once and written again for each echo received. The first
    echo is checked byte for byte against the frame an echo must be (one unmasked binary
    frame of the same payload); after it, echoes are counted by bytes (the stream must
    stay a whole number of such frames, checked when the connection drains), so the
    client's CPU per message is little more than its share of a write: it stays well
    below the cheapest server's.
    """

    def __init__(self, state, inflight, port):
        import wsframe
        from wsframe import handshake

        self.handshake = handshake
        self.state = state
        self.inflight = inflight
        self.port = port
        self.frame = wsframe.FrameEncoder("client").binary(state.payload)
        self.expected = wsframe.FrameEncoder("server").binary(state.payload)
        self.echo_len = len(self.expected)
        self.head = bytearray()
        self.open = False
        self.checked = False
        self.nbytes = 0
        self.counted = 0
        self.outstanding = 0
        loop = asyncio.get_running_loop()
        self.opened = loop.create_future()
        self.done = loop.create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        request, self.key = self.handshake.build_request("%s:%d" % (HOST, self.port), "/")
        transport.write(request)

    def connection_lost(self, exc):
        for fut in (self.opened, self.done):
            if not fut.done():
                fut.set_exception(ConnectionError("connection lost: %s" % (exc,)))

    def _fail(self, exc):
        if self.state.error is None:
            self.state.error = "%s: %s" % (type(exc).__name__, exc)
        for fut in (self.opened, self.done):
            if not fut.done():
                fut.set_exception(exc)
        self.transport.abort()

    def data_received(self, data):
        try:
            if not self.checked:
                self.head += data
                if not self.open:
                    end = self.head.find(b"\r\n\r\n")
                    if end < 0:
                        if len(self.head) > 65536:
                            raise ValueError("handshake response too long")
                        return
                    status, _reason, headers = self.handshake.parse_response(
                        bytes(self.head[: end + 4]))
                    self.handshake.check_response(status, headers, self.key)
                    del self.head[: end + 4]
                    self.open = True
                    self.state.opened += 1
                    self.opened.set_result(None)
                    self.outstanding = self.inflight
                    self.transport.writelines([self.frame] * self.inflight)
                if len(self.head) < self.echo_len:
                    return
                if self.head[: self.echo_len] != self.expected:
                    raise ValueError("unexpected echo: %r..." % (bytes(self.head[:40]),))
                self.checked = True
                self.nbytes = len(self.head)
                self.head = None
            else:
                self.nbytes += len(data)
            total = self.nbytes // self.echo_len
            n = total - self.counted
            if not n:
                return
            self.counted = total
            self.state.received += n
            self.outstanding -= n
            if self.state.sending:
                if n == 1:
                    self.transport.write(self.frame)
                else:
                    self.transport.writelines([self.frame] * n)
                self.outstanding += n
            elif self.outstanding <= 0:
                self._drained()
        except Exception as exc:  # a wrong echo or handshake: report it, stop
            self._fail(exc)

    def _drained(self):
        if self.done.done():
            return
        if self.outstanding < 0 or self.nbytes != self.counted * self.echo_len:
            self._fail(ValueError("unexpected echo: %d bytes for %d echoes of %d" % (
                self.nbytes, self.counted, self.echo_len)))
            return
        self.done.set_result(None)

    def stop(self):
        if self.outstanding <= 0:
            self._drained()

    def close(self):
        import wsframe

        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(wsframe.FrameEncoder("client").close(1000))
            self.transport.close()


async def _measure(cmd, connect_all, stop_all):
    """Open the connections, echo for warmup + window, count during the window only."""
    state = _State(os.urandom(cmd["size"]))
    await connect_all(state)
    await asyncio.sleep(cmd["warmup"])
    pid = cmd.get("server_pid")
    n0, c0, s0, t0 = state.received, time.process_time(), process_cpu(pid), time.perf_counter()
    await asyncio.sleep(cmd["window"])
    n1, c1, s1, t1 = state.received, time.process_time(), process_cpu(pid), time.perf_counter()
    state.sending = False
    await stop_all(state)
    if state.error:
        raise RuntimeError(state.error)
    return {
        "messages": n1 - n0,
        "wall_s": t1 - t0,
        "client_cpu_s": c1 - c0,
        "server_cpu_s": (s1 - s0) if s0 is not None and s1 is not None else None,
    }


def _load_client(_lib):
    """The wsframe pipelined load client (one process, any number of connections)."""

    def measure(cmd):
        protos = []

        async def connect_all(state):
            loop = asyncio.get_running_loop()
            for _ in range(cmd["connections"]):
                _t, proto = await loop.create_connection(
                    lambda: _LoadProtocol(state, cmd["inflight"], cmd["port"]),
                    HOST, cmd["port"])
                protos.append(proto)
            await asyncio.gather(*(p.opened for p in protos))

        async def stop_all(state):
            for p in protos:
                p.stop()
            try:
                await asyncio.wait_for(asyncio.gather(*(p.done for p in protos)), 15)
            finally:
                for p in protos:
                    p.close()

        return _measure(cmd, connect_all, stop_all)

    return measure


# Each library's own client: open(uri) -> (send, recv, close) coroutine functions.


async def _open_websockets(uri, session):
    from websockets.asyncio.client import connect

    ws = await connect(uri, compression=None, max_size=MAX_SIZE)
    return ws.send, ws.recv, ws.close


async def _open_aiohttp(uri, session):
    ws = await session.ws_connect(uri, max_msg_size=MAX_SIZE)

    async def recv():
        msg = await ws.receive()
        return msg.data

    return ws.send_bytes, recv, ws.close


async def _open_tornado(uri, session):
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(uri, max_message_size=MAX_SIZE)

    async def send(data):
        await conn.write_message(data, binary=True)

    async def close():
        conn.close()

    return send, conn.read_message, close


_LIB_CLIENTS = {
    "websockets": _open_websockets,
    "aiohttp": _open_aiohttp,
    "tornado": _open_tornado,
}


def _library_client(lib):
    """``lib``'s own client: per connection, send ``inflight`` messages, then send one
    more for each echo received (``await send``/``await recv``, as the docs show)."""
    opener = _LIB_CLIENTS[lib]

    def measure(cmd):
        tasks = []
        holder = {}

        async def one(state, uri, session, opened):
            try:
                send, recv, close = await opener(uri, session)
            except BaseException as exc:
                opened.set_exception(exc)
                raise
            state.opened += 1
            opened.set_result(None)
            try:
                outstanding = cmd["inflight"]
                for _ in range(outstanding):
                    await send(state.payload)
                checked = False
                while outstanding:
                    data = await recv()
                    if not checked:
                        if data != state.payload:
                            raise ValueError("unexpected echo: %r" % (data[:40],))
                        checked = True
                    state.received += 1
                    outstanding -= 1
                    if state.sending:
                        await send(state.payload)
                        outstanding += 1
            finally:
                await close()

        async def connect_all(state):
            session = None
            if lib == "aiohttp":
                import aiohttp

                session = holder["session"] = aiohttp.ClientSession()
            uri = "ws://%s:%d/" % (HOST, cmd["port"])
            loop = asyncio.get_running_loop()
            openings = []
            for _ in range(cmd["connections"]):
                opened = loop.create_future()
                tasks.append(asyncio.ensure_future(one(state, uri, session, opened)))
                openings.append(opened)
            await asyncio.gather(*openings)

        async def stop_all(state):
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), 15)
            finally:
                if "session" in holder:
                    await holder["session"].close()

        return _measure(cmd, connect_all, stop_all)

    return measure


CLIENTS = {"load": _load_client}
CLIENTS.update({lib: _library_client for lib in _LIB_CLIENTS})


async def _client_main(lib):
    measure = CLIENTS[lib](lib)
    _ready()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        cmd = json.loads(line)
        try:
            result = await asyncio.wait_for(measure(cmd), cmd.get("timeout", 60))
        except Exception as exc:
            result = {"error": "%s: %s" % (type(exc).__name__, exc)}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


# -- entry point ------------------------------------------------------------------------------


def _install(lib):
    import warnings

    import wsframe.integrations as integ

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replaced = integ.install(lib)
    _INFO["installed"] = sorted(replaced.get(lib, ()))
    _INFO["warnings"] = [str(w.message) for w in caught]


def _use_uvloop():
    """The load client runs on uvloop where it is installed: less of its CPU per read,
    so it stays clear of being the bottleneck (the servers keep the default loop, as
    their libraries document them)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m wsframe.bench._e2e_procs")
    p.add_argument("role", choices=("server", "client"))
    p.add_argument("library")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--install", action="store_true")
    args = p.parse_args(argv)
    table = SERVERS if args.role == "server" else CLIENTS
    if args.library not in table:
        sys.stdout.write("SKIP unknown %s %r\n" % (args.role, args.library))
        return 2
    module = table[args.library][0] if args.role == "server" else (
        args.library if args.library != "load" else "wsframe")
    try:
        __import__(module)
    except ImportError as exc:
        sys.stdout.write("SKIP %s not installed (%s)\n" % (module, exc))
        sys.stdout.flush()
        return 0
    if args.install:
        _install(args.library)
    _INFO["pid"] = os.getpid()
    _INFO["python"] = sys.version.split()[0]
    try:
        if args.role == "server":
            asyncio.run(SERVERS[args.library][1](args.port))
        else:
            if args.library == "load":
                _use_uvloop()
            _INFO["event_loop"] = type(asyncio.new_event_loop()).__module__.split(".")[0]
            asyncio.run(_client_main(args.library))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
