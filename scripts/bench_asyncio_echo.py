"""Echo servers under one pipelined load client, over loopback: messages per second and
server CPU per message (utime + stime from /proc/<pid>/stat), medians of alternating rounds.

    PYTHONPATH=src python scripts/bench_asyncio_echo.py [--rounds 3] [--seconds 2]
        [--servers wsframe,wsframe-uvloop,picows,old-example] [--sizes 32,1024,65536]
        [--inflight 1,64]

"old-example" is examples/echo_server.py before wsframe.asyncio (asyncio streams), taken
from git (commit dd0c95e). A development tool (Linux only), not part of the bench CLI.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD_COMMIT = "dd0c95e"

WSFRAME_SERVER = """
import asyncio, sys
from wsframe.asyncio import serve
if sys.argv[2] == "uvloop":
    import uvloop; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
async def echo(conn):
    async for message in conn:
        await conn.send(message)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), ping_interval=None,
                     max_message_size=1 << 20) as server:
        print("ready", flush=True)
        await server.serve_forever()
asyncio.run(main())
"""

PICOWS_SERVER = """
import asyncio, sys
from picows import ws_create_server, WSListener, WSMsgType
class Echo(WSListener):
    def on_ws_frame(self, transport, frame):
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        else:
            transport.send(frame.msg_type, frame.get_payload_as_bytes())
async def main():
    server = await ws_create_server(lambda request: Echo(), "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""

HANDSHAKE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(name, workdir):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    if name in ("wsframe", "wsframe-uvloop"):
        cmd = [sys.executable, "-c", WSFRAME_SERVER, str(port),
               "uvloop" if name.endswith("uvloop") else "asyncio"]
    elif name == "picows":
        cmd = [sys.executable, "-c", PICOWS_SERVER, str(port)]
    elif name == "old-example":
        env["PYTHONPATH"] += os.pathsep + workdir
        cmd = [sys.executable, os.path.join(workdir, "echo_server.py"), "--port", str(port)]
    else:
        raise SystemExit("unknown server %r" % name)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdout.readline()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("%s did not start" % name)


class Load(asyncio.Protocol):
    """Keeps ``inflight`` messages outstanding; counts the echoes."""

    def __init__(self, port, frame, inflight):
        import wsframe

        self.port = port
        self.frame = frame
        self.inflight = inflight
        self.decoder = wsframe.FrameDecoder("client", max_message_size=1 << 21)
        self.head = b""
        self.count = 0
        self.opened = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write((HANDSHAKE % self.port).encode())

    def data_received(self, data):
        if not self.opened.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            data = self.head[end + 4:]
            self.opened.set_result(None)
            self.transport.write(self.frame * self.inflight)
            if not data:
                return
        n = len(self.decoder.feed(data))
        self.count += n
        if n:
            self.transport.write(self.frame * n)


async def measure(port, pid, size, inflight, seconds):
    import wsframe

    frame = wsframe.FrameEncoder("client").binary(b"x" * size)
    loop = asyncio.get_running_loop()
    transport, load = await loop.create_connection(
        lambda: Load(port, frame, inflight), "127.0.0.1", port
    )
    await asyncio.wait_for(load.opened, 10)
    await asyncio.sleep(0.3)  # warm up
    count0, cpu0, t0 = load.count, cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    count1, cpu1, t1 = load.count, cpu_seconds(pid), time.perf_counter()
    transport.abort()
    messages = count1 - count0
    return messages / (t1 - t0), (cpu1 - cpu0) / max(messages, 1) * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", default="wsframe,wsframe-uvloop,picows,old-example")
    p.add_argument("--sizes", default="32,1024,65536")
    p.add_argument("--inflight", default="1,64")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    servers = args.servers.split(",")
    workdir = tempfile.mkdtemp(prefix="wsframe-old-example-")
    if "old-example" in servers:
        for name in ("echo_server.py", "connection.py"):
            with open(os.path.join(workdir, name), "wb") as f:
                f.write(subprocess.check_output(
                    ["git", "-C", ROOT, "show", "%s:examples/%s" % (OLD_COMMIT, name)]))
    procs = {name: start_server(name, workdir) for name in servers}
    results = {}
    try:
        for size in map(int, args.sizes.split(",")):
            for inflight in map(int, args.inflight.split(",")):
                for rnd in range(args.rounds):
                    order = servers if rnd % 2 == 0 else servers[::-1]
                    for name in order:
                        proc, port = procs[name]
                        rate, cpu = asyncio.run(measure(port, proc.pid, size, inflight,
                                                        args.seconds))
                        results.setdefault((size, inflight, name), []).append((rate, cpu))
                print("load average %.2f %.2f %.2f" % os.getloadavg(), file=sys.stderr)
                for name in servers:
                    runs = results[(size, inflight, name)]
                    rates = [r for r, _ in runs]
                    cpus = [c for _, c in runs]
                    print("%6d B  %3d in flight  %-15s %9.0f msg/s (%.0f-%.0f)  "
                          "%7.2f us CPU/msg (%.2f-%.2f)" % (
                              size, inflight, name, statistics.median(rates), min(rates),
                              max(rates), statistics.median(cpus), min(cpus), max(cpus)),
                          flush=True)
    finally:
        for proc, _ in procs.values():
            proc.kill()
            proc.wait(10)


if __name__ == "__main__":
    main()
