"""The end-to-end sections: real sockets over 127.0.0.1, one process per peer.

``e2e``: each library's idiomatic echo server (websockets, aiohttp, tornado, picows,
wsframe.asyncio, and ``examples/echo_server.py`` from a source checkout) in its own
process, driven by one load client process for all (wsframe's codec over an
``asyncio.Protocol``, pipelined: it keeps N messages in flight per connection). For each
row: messages per second, the server's CPU per message (from /proc) and the client's (so
a client-bound row shows: its "client busy" nears 100 %).

``e2e-integrations``: each library's own echo server *and* client, plain and with
``wsframe.integrations.install()`` run in both processes, alternating; the ratio
installed/plain is the median of the per-round ratios.

Rounds alternate: every round runs each row once, in a fresh random order; a row's
figure is the median over rounds and its spread the median absolute deviation relative
to the median. See docs/benchmarks.md.
"""

import json
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time

__all__ = ["SECTIONS", "TITLES", "PLANS", "run_section", "SERVERS", "INTEGRATION_LIBRARIES"]

SECTIONS = ("e2e", "e2e-integrations")
TITLES = {
    "e2e": "End to end: each library's echo server, one load client for all "
           "(loopback, binary messages, compression off)",
    "e2e-integrations": "End to end: each library's own server and client, plain and "
                        "with wsframe.integrations installed in both",
}

KiB = 1024
NOISY_SPREAD = 0.20

# name shown, library (for versions), process module (None: the example script), kind
SERVERS = (
    ("websockets", "websockets", "websockets", "peer"),
    ("aiohttp", "aiohttp", "aiohttp", "peer"),
    ("tornado", "tornado", "tornado", "peer"),
    ("picows", "picows", "picows", "peer"),
    ("wsframe.asyncio", "wsframe", "wsframe.asyncio", "wsframe"),
    ("examples/echo_server.py", "wsframe", None, "wsframe"),
)
INTEGRATION_LIBRARIES = ("websockets", "aiohttp", "tornado")

# Per mode: (size, connections, in flight) per group; rounds; warm-up and window seconds.
PLANS = {
    "full": {
        "e2e": [(s, c, f) for s in (32, KiB, 64 * KiB) for c in (1, 16) for f in (1, 64)],
        "e2e-integrations": [(s, 1, f) for s in (32, KiB, 64 * KiB) for f in (1, 64)],
        "rounds": 5, "warmup": 0.2, "window": 0.6,
    },
    "quick": {
        "e2e": [(32, 1, 64), (KiB, 16, 1)],
        "e2e-integrations": [(KiB, 1, 64)],
        "rounds": 3, "warmup": 0.1, "window": 0.3,
    },
    "smoke": {
        "e2e": [(32, 1, 4)],
        "e2e-integrations": [(32, 1, 4)],
        "rounds": 1, "warmup": 0.02, "window": 0.05,
    },
}

STARTUP_TIMEOUT = 60.0


def size_label(n):
    if n >= KiB and n % KiB == 0:
        return "%d KiB" % (n // KiB)
    return "%d B" % n


def variant_label(connections, inflight):
    return "%d connection%s, %d in flight" % (
        connections, "" if connections == 1 else "s", inflight)


def spread(values):
    """Median absolute deviation relative to the median (0.02 = 2 %)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    med = statistics.median(values)
    if med <= 0:
        return 0.0
    return statistics.median(abs(v - med) for v in values) / med


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _env():
    """The child's environment: the same wsframe as this process, whatever PYTHONPATH."""
    import wsframe

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                else "")
    return env


def example_server_path():
    """examples/echo_server.py of the source checkout wsframe runs from, or None."""
    import wsframe

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__))))
    path = os.path.join(root, "examples", "echo_server.py")
    return path if os.path.isfile(path) else None


class Proc(object):
    """A child process speaking the READY/SKIP line protocol of ``_e2e_procs``."""

    def __init__(self, argv, cwd=None, ready_prefix="READY"):
        self.err = tempfile.TemporaryFile()
        self.ready_prefix = ready_prefix
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, cwd=cwd, env=_env())
        self.pid = self.p.pid
        self.info = {}
        self._buf = b""

    def _readline(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer within %.0f s" % timeout)
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError("exited (code %s): %s" % (self.p.poll(), self.stderr_tail()))
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").strip()

    def wait_ready(self, timeout=STARTUP_TIMEOUT):
        """None when ready, else the reason it is not (skipped, crashed, silent)."""
        try:
            while True:
                line = self._readline(timeout)
                if line.startswith("SKIP"):
                    return line[4:].strip()
                if line.startswith(self.ready_prefix):
                    rest = line[len(self.ready_prefix):].strip()
                    if rest.startswith("{"):
                        self.info = json.loads(rest)
                    return None
        except (TimeoutError, EOFError, ValueError) as exc:
            return "did not start: %s" % exc

    def command(self, cmd, timeout):
        self.p.stdin.write((json.dumps(cmd) + "\n").encode())
        self.p.stdin.flush()
        return json.loads(self._readline(timeout))

    def alive(self):
        return self.p.poll() is None

    def stderr_tail(self, n=300):
        try:
            self.err.seek(0)
            text = self.err.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return text[-n:]

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.p.stdout.close()
        self.err.close()


def _procs_argv(role, library, port=None, install=False):
    argv = [sys.executable, "-m", "wsframe.bench._e2e_procs", role, library]
    if port is not None:
        argv += ["--port", str(port)]
    if install:
        argv.append("--install")
    return argv


def _start_server(module, port, install=False):
    if module is None:
        path = example_server_path()
        if path is None:
            return None, "examples/echo_server.py not found (runs from a source checkout)"
        proc = Proc([sys.executable, path, "--port", str(port)], cwd=os.path.dirname(path),
                    ready_prefix="wsframe")
    else:
        proc = Proc(_procs_argv("server", module, port, install))
    return proc, None


def _measure_one(client, server, port, size, connections, inflight, plan):
    cmd = {"port": port, "size": size, "connections": connections, "inflight": inflight,
           "warmup": plan["warmup"], "window": plan["window"], "server_pid": server.pid,
           "timeout": plan["warmup"] + plan["window"] + 30}
    try:
        res = client.command(cmd, cmd["timeout"] + 10)
    except (TimeoutError, EOFError, ValueError, OSError) as exc:
        # A late answer would be taken for the next command's: no client from here on.
        if client.alive():
            client.p.kill()
        return {"error": "client: %s" % exc}
    if "error" not in res and not res.get("messages"):
        res = {"error": "no message echoed in %.2f s" % plan["window"]}
    if "error" in res and not server.alive():
        res["error"] += "; server exited: %s" % server.stderr_tail()
    return res


def _row_stats(results):
    """Medians and spreads over the rounds of one row."""
    ok = [r for r in results if "error" not in r]
    rates = [r["messages"] / r["wall_s"] for r in ok]
    srv = [r["server_cpu_s"] / r["messages"] if r["server_cpu_s"] is not None else None
           for r in ok]
    cli = [r["client_cpu_s"] / r["messages"] for r in ok]
    busy = [r["client_cpu_s"] / r["wall_s"] for r in ok]
    sbusy = [r["server_cpu_s"] / r["wall_s"] if r["server_cpu_s"] is not None else None
             for r in ok]
    return {
        "msgs_per_s": median(rates),
        "spread": spread(rates),
        "server_cpu_per_msg_s": median(srv),
        "server_cpu_spread": spread(srv),
        "client_cpu_per_msg_s": median(cli),
        "client_cpu_spread": spread(cli),
        "client_busy": median(busy),
        "server_busy": median(sbusy),
        "samples": len(ok),
        "per_round_msgs_per_s": [round(x, 1) for x in rates],
    }


def _noisy(stats):
    return any(s is not None and s > NOISY_SPREAD
               for s in (stats["spread"], stats["server_cpu_spread"]))


def run_section(name, mode, emit, progress=None, rounds=None, rng=None):
    """Measure one end-to-end section; returns its JSON-able dict (``kind`` "e2e")."""
    plan = dict(PLANS[mode])
    if rounds:
        plan["rounds"] = rounds
    rng = rng or random.Random()
    t0 = time.time()
    sec = {"title": TITLES[name], "kind": "e2e", "groups": [], "skipped": [],
           "settings": {"rounds": plan["rounds"], "warmup_s": plan["warmup"],
                        "window_s": plan["window"], "message": "binary",
                        "compression": "off", "event_loop": "asyncio (default)"},
           "loadavg": [loadavg(), None]}
    if name == "e2e":
        _run_servers(sec, plan, plan["e2e"], emit, progress, rng)
    else:
        _run_integrations(sec, plan, plan["e2e-integrations"], emit, progress, rng)
    sec["loadavg"][1] = loadavg()
    sec["wall_time_s"] = round(time.time() - t0, 2)
    return sec


def _start_all(specs):
    """Start every process, then wait for each: [(key, proc or None, reason)]."""
    started = []
    for key, starter in specs:
        proc, reason = starter()
        started.append((key, proc, reason))
    out = []
    for key, proc, reason in started:
        if proc is not None:
            reason = proc.wait_ready()
            if reason is not None:
                proc.stop()
                proc = None
        out.append((key, proc, reason))
    return out


def _run_servers(sec, plan, configs, emit, progress, rng):
    specs = []
    ports = {}
    for shown, lib, module, kind in SERVERS:
        port = ports[shown] = _free_port()
        specs.append((shown, lambda module=module, port=port: _start_server(module, port)))
    specs.append(("client", lambda: (Proc(_procs_argv("client", "load")), None)))
    procs = _start_all(specs)
    client = None
    servers = []
    try:
        for key, proc, reason in procs:
            if key == "client":
                client = proc
                if proc is None:
                    sec["skipped"].append({"library": "load client", "reason": reason})
                continue
            if proc is None:
                sec["skipped"].append({"library": key, "reason": reason})
                emit("   %s: skipped: %s" % (key, reason))
                continue
            servers.append((key, proc))
        if client is None or not servers:
            return
        sec["settings"]["load_client_event_loop"] = client.info.get("event_loop")
        kinds = {s[0]: s[3] for s in SERVERS}
        libs = {s[0]: s[1] for s in SERVERS}
        for gi, (size, conns, inflight) in enumerate(configs):
            label = "%s, %s" % (variant_label(conns, inflight), size_label(size))
            if progress is not None:
                progress.set("e2e %d/%d: %s" % (gi + 1, len(configs), label),
                             plan["rounds"] * len(servers))
            la0 = loadavg()
            results = {key: [] for key, _ in servers}
            for _ in range(plan["rounds"]):
                order = list(servers)
                rng.shuffle(order)
                for key, proc in order:
                    results[key].append(_measure_one(client, proc, ports[key], size, conns,
                                                     inflight, plan))
                    if progress is not None:
                        progress.tick()
            rows = []
            skipped = []
            for key, _ in servers:
                errors = [r["error"] for r in results[key] if "error" in r]
                stats = _row_stats(results[key])
                if not stats["samples"]:
                    skipped.append({"name": key, "library": libs[key],
                                    "reason": errors[0] if errors else "no result"})
                    continue
                row = {"name": key, "library": libs[key], "kind": kinds[key]}
                row.update(stats)
                row["errors"] = errors
                row["noisy"] = _noisy(stats)
                rows.append(row)
            group = {"variant": variant_label(conns, inflight), "size": size, "label": label,
                     "item": "message",
                     "params": {"connections": conns, "inflight": inflight, "size": size},
                     "rows": rows, "skipped": skipped, "loadavg": [la0, loadavg()]}
            _mark_reference(group)
            sec["groups"].append(group)
            for line in group_text(group):
                emit(line)
    finally:
        for _key, proc, _r in procs:
            if proc is not None:
                proc.stop()


def _mark_reference(group):
    """wsframe.asyncio is the row compared (the example server when it is absent)."""
    ref = None
    for want in ("wsframe.asyncio", "examples/echo_server.py"):
        ref = next((r for r in group["rows"] if r["name"] == want), None)
        if ref is not None:
            break
    group["reference"] = ref["name"] if ref else None
    for r in group["rows"]:
        r["reference"] = r is ref
        r["ratio"] = (r["msgs_per_s"] / ref["msgs_per_s"]) if ref else None


def _run_integrations(sec, plan, configs, emit, progress, rng):
    for lib in INTEGRATION_LIBRARIES:
        specs = []
        ports = {}
        for mode in ("plain", "installed"):
            port = ports[mode] = _free_port()
            install = mode == "installed"
            specs.append((("server", mode), lambda port=port, install=install: (
                Proc(_procs_argv("server", lib, port, install)), None)))
            specs.append((("client", mode), lambda install=install: (
                Proc(_procs_argv("client", lib, install=install)), None)))
        procs = _start_all(specs)
        try:
            by = {key: proc for key, proc, _ in procs}
            reasons = [r for _k, p, r in procs if p is None]
            if reasons:
                sec["skipped"].append({"library": lib, "reason": reasons[0]})
                emit("   %s: skipped: %s" % (lib, reasons[0]))
                continue
            installed = by[("server", "installed")].info.get("installed", [])
            installed_c = by[("client", "installed")].info.get("installed", [])
            if not installed and not installed_c:
                warn = by[("server", "installed")].info.get("warnings") or []
                reason = "install() replaced nothing%s" % (
                    ": " + warn[0] if warn else "")
                sec["skipped"].append({"library": lib, "reason": reason})
                emit("   %s: skipped: %s" % (lib, reason))
                continue
            for gi, (size, conns, inflight) in enumerate(configs):
                label = "%s, %s, %s" % (lib, variant_label(conns, inflight),
                                        size_label(size))
                if progress is not None:
                    progress.set("e2e-integrations: %s" % label, plan["rounds"] * 2)
                la0 = loadavg()
                results = {"plain": [], "installed": []}
                for _ in range(plan["rounds"]):
                    order = ["plain", "installed"]
                    rng.shuffle(order)
                    for mode in order:
                        results[mode].append(_measure_one(
                            by[("client", mode)], by[("server", mode)], ports[mode], size,
                            conns, inflight, plan))
                        if progress is not None:
                            progress.tick()
                group = _integration_group(lib, size, conns, inflight, results,
                                           installed, installed_c, label)
                group["loadavg"] = [la0, loadavg()]
                sec["groups"].append(group)
                for line in group_text(group):
                    emit(line)
        finally:
            for _key, proc, _r in procs:
                if proc is not None:
                    proc.stop()


def _integration_group(lib, size, conns, inflight, results, installed, installed_c, label):
    rows = []
    skipped = []
    for mode in ("plain", "installed"):
        errors = [r["error"] for r in results[mode] if "error" in r]
        stats = _row_stats(results[mode])
        if not stats["samples"]:
            skipped.append({"name": mode, "library": lib,
                            "reason": errors[0] if errors else "no result"})
            continue
        row = {"name": "%s %s" % (lib, "with wsframe.integrations" if mode == "installed"
                                  else "as released"),
               "library": "wsframe" if mode == "installed" else lib,
               "kind": "wsframe" if mode == "installed" else "peer", "mode": mode}
        row.update(stats)
        row["errors"] = errors
        row["noisy"] = _noisy(stats)
        rows.append(row)
    # Ratios per round (plain and installed ran in the same round, back to back).
    ratio = {}
    pairs = [(p, i) for p, i in zip(results["plain"], results["installed"])
             if "error" not in p and "error" not in i]
    if pairs:
        def per_msg(r, key):
            return r[key] / r["messages"] if r.get(key) is not None else None

        rate = [(i["messages"] / i["wall_s"]) / (p["messages"] / p["wall_s"])
                for p, i in pairs]
        srv = [per_msg(i, "server_cpu_s") / per_msg(p, "server_cpu_s") for p, i in pairs
               if per_msg(p, "server_cpu_s") and per_msg(i, "server_cpu_s") is not None]
        cli = [per_msg(i, "client_cpu_s") / per_msg(p, "client_cpu_s") for p, i in pairs
               if per_msg(p, "client_cpu_s")]
        ratio = {"msgs_per_s": median(rate), "msgs_per_s_spread": spread(rate),
                 "server_cpu": median(srv), "server_cpu_spread": spread(srv),
                 "client_cpu": median(cli), "client_cpu_spread": spread(cli)}
    group = {"variant": "%s, %s" % (lib, variant_label(conns, inflight)), "size": size,
             "label": label, "item": "message",
             "params": {"library": lib, "connections": conns, "inflight": inflight,
                        "size": size, "installed_server": installed,
                        "installed_client": installed_c},
             "rows": rows, "skipped": skipped, "ratio": ratio}
    ref = next((r for r in rows if r.get("mode") == "plain"), None)
    group["reference"] = ref["name"] if ref else None
    for r in rows:
        r["reference"] = r is ref
        r["ratio"] = (r["msgs_per_s"] / ref["msgs_per_s"]) if ref else None
    return group


# -- text -------------------------------------------------------------------------------------


def _rate(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2f M/s" % (v / 1e6)
    if v >= 1e3:
        return "%.1f k/s" % (v / 1e3)
    return "%.0f /s" % v


def _us(v):
    return "-" if v is None else "%.2f us" % (v * 1e6)


def _pct(v):
    return "" if v is None else "+-%.0f%%" % (v * 100)


def group_text(group):
    lines = ["  %s (load %s)" % (group["label"], "-".join(
        "%s" % x for x in group.get("loadavg", []) if x is not None) or "?")]
    lines.append("     %-44s %11s %6s %12s %6s %11s %6s" % (
        "", "msgs/s", "", "server CPU", "", "client CPU", "busy"))
    for r in group["rows"]:
        lines.append("   %s %-44s %11s %6s %9s/msg %6s %8s/msg %5.0f%%%s" % (
            "*" if r["reference"] else " ", r["name"], _rate(r["msgs_per_s"]),
            _pct(r["spread"]), _us(r["server_cpu_per_msg_s"]), _pct(r["server_cpu_spread"]),
            _us(r["client_cpu_per_msg_s"]), 100 * (r["client_busy"] or 0),
            "  (noisy)" if r["noisy"] else ""))
    ratio = group.get("ratio")
    if ratio:
        lines.append("     installed/plain: msgs/s x%.2f %s, server CPU/msg x%s %s, client "
                     "CPU/msg x%s %s" % (
                         ratio["msgs_per_s"], _pct(ratio["msgs_per_s_spread"]),
                         "%.2f" % ratio["server_cpu"] if ratio["server_cpu"] else "-",
                         _pct(ratio["server_cpu_spread"]),
                         "%.2f" % ratio["client_cpu"] if ratio["client_cpu"] else "-",
                         _pct(ratio["client_cpu_spread"])))
    for s in group["skipped"]:
        lines.append("     %-44s skipped: %s" % (s["name"], s["reason"]))
    return lines
