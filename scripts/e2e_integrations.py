"""End to end over loopback: a library's own echo server and client, plain vs installed.

    python scripts/e2e_integrations.py tornado --sizes 1024,65536 --rounds 7
    python scripts/e2e_integrations.py aiohttp --modes plain,installed,touched

Each round starts, for every mode in a fresh random order, one server process and one
client process of the library (compression off, binary messages), both in that mode:

- ``plain``: the library as it is (wsframe not even imported);
- ``imported``: ``import wsframe, wsframe.integrations`` and nothing else;
- ``touched``: ``wsframe.integrations.install(lib)`` then ``uninstall()``;
- ``installed``: ``wsframe.integrations.install(lib)`` (what the default replaces);
- ``forced``: ``install(lib, force=True)`` (also what was measured not to pay).

The client keeps ``--inflight`` messages outstanding (1: strict ping-pong) and, after a
warm-up, echoes ``--count`` messages. Measured over that window only: messages per
second (wall), and the CPU time of each process (server: from /proc/<pid>/task/*/schedstat, read by
this driver when the client reports the window's start and end; client: its own
``resource.getrusage``). Ratios installed/plain are medians of per-round ratios; the
spread is the median absolute deviation relative to the median. Every wait is bounded.
"""

import argparse
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("plain", "imported", "touched", "installed", "forced")
TIMEOUT = 120.0


# --------------------------------------------------------------------------- in a process
def apply_mode(lib, mode):
    if os.environ.get("E2E_FALLBACKS"):
        # The libraries' compiled parts off (what a source install or PyPy runs):
        # websockets.speedups and tornado.speedups unimportable; aiohttp's own switch,
        # AIOHTTP_NO_EXTENSIONS, is set by the driver.
        sys.modules["websockets.speedups"] = None
        sys.modules["tornado.speedups"] = None
    if mode == "plain":
        return
    import wsframe.integrations as wi

    if mode == "touched":
        wi.install(lib)
        wi.uninstall()
    elif mode == "installed":
        wi.install(lib)
    elif mode == "forced":
        wi.install(lib, force=True)


def serve(lib, port, oneshot=False):
    import asyncio

    closed = []  # the first connection's end, for a one-shot server

    async def until_done():
        if oneshot:
            closed.append(asyncio.Event())
            await closed[0].wait()
        else:
            await asyncio.Event().wait()

    def connection_closed():
        if closed:
            closed[0].set()

    if lib == "tornado":
        import tornado.web
        import tornado.websocket

        class Echo(tornado.websocket.WebSocketHandler):
            def on_message(self, message):
                self.write_message(message, binary=True)

            def on_close(self):
                connection_closed()

        async def main():
            app = tornado.web.Application([(r"/", Echo)], websocket_max_message_size=1 << 24)
            app.listen(port, "127.0.0.1")
            print("READY", flush=True)
            await until_done()

    elif lib == "aiohttp":
        from aiohttp import web

        async def handler(request):
            ws = web.WebSocketResponse(compress=False, max_msg_size=1 << 24)
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_bytes(msg.data)
            connection_closed()
            return ws

        async def main():
            app = web.Application()
            app.router.add_get("/", handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            print("READY", flush=True)
            await until_done()

    elif lib == "websockets":
        from websockets.asyncio.server import serve as ws_serve

        async def handler(ws):
            async for msg in ws:
                await ws.send(msg)
            connection_closed()

        async def main():
            async with ws_serve(handler, "127.0.0.1", port, compression=None, max_size=None):
                print("READY", flush=True)
                await until_done()

    else:
        raise SystemExit("unknown library %r" % lib)
    asyncio.run(main())


def client(lib, port, size, count, inflight, warmup):
    import asyncio

    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    url = "ws://127.0.0.1:%d/" % port

    async def exchange(send, recv, n):
        for _ in range(min(inflight, n)):
            await send(payload)
        for _ in range(n - min(inflight, n)):
            got = await recv()
            assert len(got) == size
            await send(payload)
        for _ in range(min(inflight, n)):
            got = await recv()
            assert len(got) == size

    async def measured(send, recv):
        await exchange(send, recv, warmup)
        print("START", flush=True)
        sys.stdin.readline()  # the driver has read the server's CPU
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        await exchange(send, recv, count)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        print("END %r %r" % (wall, cpu), flush=True)
        sys.stdin.readline()

    async def main():
        if lib == "tornado":
            import tornado.websocket

            conn = await tornado.websocket.websocket_connect(url, max_message_size=1 << 24)

            async def send(data):
                await conn.write_message(data, binary=True)

            await measured(send, conn.read_message)
            conn.close()
        elif lib == "aiohttp":
            import aiohttp

            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(url, compress=0, max_msg_size=1 << 24) as ws:

                    async def recv():
                        return (await ws.receive()).data

                    await measured(ws.send_bytes, recv)
        elif lib == "websockets":
            from websockets.asyncio.client import connect

            async with connect(url, compression=None, max_size=None) as ws:
                await measured(ws.send, ws.recv)

    asyncio.run(main())


# ------------------------------------------------------------------------------- driver
def proc_cpu(pid):
    # Nanoseconds from /proc/<pid>/task/*/schedstat where the kernel has it (10 ms ticks
    # of /proc/<pid>/stat otherwise: 2-5 % of a window, too coarse for a few per cent).
    if os.path.join(ROOT, "src") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "src"))  # the tree the children run
    from wsframe.bench._e2e_procs import process_cpu

    return process_cpu(pid)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readline(proc, deadline):
    import select

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer from %s" % proc.args)
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("%s exited" % proc.args)
            return line.strip()


def one_run(lib, mode, size, count, inflight, warmup, wrap=(), side="server"):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    env.pop("WSFRAME_NO_INTEGRATIONS", None)
    me = [sys.executable, os.path.abspath(__file__)]
    swrap, cwrap = (wrap, ()) if side == "server" else ((), wrap)
    server = subprocess.Popen(
        list(swrap) + me + ["--serve", lib, "--port", str(port), "--mode", mode]
        + (["--oneshot"] if swrap else []),
        stdout=subprocess.PIPE, text=True, env=env)
    cl = None
    try:
        deadline = time.monotonic() + TIMEOUT * (10 if wrap else 1)  # (valgrind: slow)
        assert readline(server, deadline) == "READY"
        cl = subprocess.Popen(
            list(cwrap) + me + ["--client", lib, "--port", str(port), "--mode", mode, "--size", str(size),
                  "--count", str(count), "--inflight", str(inflight),
                  "--warmup", str(warmup)],
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, env=env)
        assert readline(cl, deadline) == "START"
        s0 = proc_cpu(server.pid)
        cl.stdin.write("\n")
        cl.stdin.flush()
        end = readline(cl, deadline).split()
        s1 = proc_cpu(server.pid)
        cl.stdin.write("\n")
        cl.stdin.flush()
        cl.wait(timeout=TIMEOUT)
        if swrap:
            server.wait(timeout=TIMEOUT * 5)  # (it exits once the connection is closed)
        wall, ccpu = float(end[1]), float(end[2])
        return {"rate": count / wall, "server_us": (s1 - s0) / count * 1e6,
                "client_us": ccpu / count * 1e6}
    finally:
        for p in (cl, server):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no totals in %s" % path)


def callgrind(args, modes, sizes):
    """Server instructions per message: (run of count) - (run of count/2), per mode.

    The hash seed is fixed (PYTHONHASHSEED=0 unless set): with a random one per process,
    dict and set probing alone moved the counts by 1-2 %. With more than one message in
    flight, how many messages each read carries depends on timing (the side not under
    valgrind runs 50 times faster), which moves them by up to 10 %: --inflight 1 gives
    the steady counts.
    """
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.makedirs(args.callgrind, exist_ok=True)
    print("# %s %s under callgrind, inflight %d" % (args.library, args.side, args.inflight))
    for size in sizes:
        count = args.count or 2000
        per = {}
        for mode in modes:
            totals = []
            for n in (count // 2, count):
                out = os.path.join(args.callgrind, "%s-%s-%s-%d-%d.out" % (
                    args.library, args.side, mode, size, n))
                wrap = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
                # e.g. E2E_VALGRIND_OPTS="--cache-sim=yes --branch-sim=yes"
                wrap += os.environ.get("E2E_VALGRIND_OPTS", "").split()
                one_run(args.library, mode, size, n, args.inflight, args.warmup, wrap,
                        args.side)
                totals.append(callgrind_total(out))
            per[mode] = (totals[1] - totals[0]) / (count - count // 2)
            note = ""
            if mode != modes[0]:
                note = "  x%.3f (instructions %s / %s)" % (per[modes[0]] / per[mode],
                                                            modes[0], mode)
            print("%6d B %-9s %.0f instructions per message%s" % (size, mode, per[mode], note),
                  flush=True)


def median_spread(values):
    m = statistics.median(values)
    mad = statistics.median(abs(v - m) for v in values)
    return m, (mad / m if m else 0.0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("library", nargs="?")
    p.add_argument("--sizes", default="32,1024,65536")
    p.add_argument("--modes", default="plain,installed")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--inflight", type=int, default=16)
    p.add_argument("--count", type=int, default=0, help="default: about 8 MiB or 20000")
    p.add_argument("--serve", metavar="LIB")
    p.add_argument("--client", metavar="LIB")
    p.add_argument("--port", type=int)
    p.add_argument("--mode", default="plain", choices=MODES)
    p.add_argument("--size", type=int)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--oneshot", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--callgrind",
        metavar="DIR",
        help="run each server (or client: --side) under valgrind --tool=callgrind, one "
        "file per run in DIR; prints its instructions per message (a run of --count "
        "messages minus one of half as many, so start-up and warm-up cancel out)",
    )
    p.add_argument("--side", choices=("server", "client"), default="server")
    p.add_argument("--fallbacks", action="store_true",
                   help="run the libraries on their pure-Python fallbacks")
    args = p.parse_args(argv)
    if args.serve:
        apply_mode(args.serve, args.mode)
        return serve(args.serve, args.port, args.oneshot)
    if args.client:
        apply_mode(args.client, args.mode)
        return client(args.client, args.port, args.size, args.count, args.inflight,
                      args.warmup)
    if args.fallbacks:
        os.environ.update(E2E_FALLBACKS="1", AIOHTTP_NO_EXTENSIONS="1")
    modes = args.modes.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.callgrind:
        return callgrind(args, modes, sizes)
    print("# %s%s, inflight %d, %d rounds, modes %s; load %s" % (
        args.library, " (pure-Python fallbacks)" if args.fallbacks else "", args.inflight,
        args.rounds, modes, os.getloadavg()), flush=True)
    for size in sizes:
        count = args.count or max(2000, min(20000, (8 << 20) // size))
        res = {m: [] for m in modes}
        for _ in range(args.rounds):
            order = list(modes)
            random.shuffle(order)
            for mode in order:
                res[mode].append(one_run(args.library, mode, size, count, args.inflight,
                                         min(args.warmup, count)))
        base = res[modes[0]]
        for mode in modes:
            line = []
            for key in ("rate", "server_us", "client_us"):
                m, spread = median_spread([r[key] for r in res[mode]])
                line.append("%s %.4g (±%.0f%%)" % (key, m, spread * 100))
            if mode != modes[0]:
                for key in ("rate", "server_us", "client_us"):
                    # per round: rate ratio new/plain; CPU ratio plain/new (>1: faster)
                    ratios = [
                        (r[key] / b[key]) if key == "rate" else (b[key] / r[key])
                        for r, b in zip(res[mode], base)
                    ]
                    m, spread = median_spread(ratios)
                    line.append("x%.2f±%.2f" % (m, m * spread))
            print("%6d B %-9s %s" % (size, mode, "  ".join(line)), flush=True)
    print("# load after: %s" % (os.getloadavg(),))


if __name__ == "__main__":
    sys.exit(main())
