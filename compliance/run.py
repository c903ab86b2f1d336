#!/usr/bin/env python3
"""Run the Autobahn Testsuite against wsframe's echo examples and summarise the result.

    python compliance/run.py                 # groups 1-7, 9, 10; both implementations,
                                             # as server and as client
    python compliance/run.py --quick         # groups 1-7, 10; compiled implementation
                                             # only; both directions (for .ci/run)
    python compliance/run.py --cases 12,13   # permessage-deflate (about 25 minutes)
    python compliance/run.py --impl python --side server --cases 1.1.1,5

Installs the suite first if needed (a Python 2.7 virtualenv under
~/.cache/wsframe-autobahn, or $WSFRAME_AUTOBAHN_HOME), idempotently. Exits 1 if any case
is FAILED, or if any case of a target group (1-7, 9, 10) is not OK and is not explained in
compliance/expected.json; 2 on an installation or harness error.

Every wait has a timeout, and every process this script starts is killed (by its process
group) before it exits.
"""

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# In CI the shared folder sits beside the repository's clone: <root>/../shared.
DEFAULT_CONSTRAINTS = os.path.join(ROOT, os.pardir, "shared", "autobahn", "constraints-py27.txt")
DEFAULT_HOME = os.path.join(os.path.expanduser("~"), ".cache", "wsframe-autobahn")
EXPECTED_FILE = os.path.join(HERE, "expected.json")

TARGET_GROUPS = ("1", "2", "3", "4", "5", "6", "7", "9", "10")
DEFAULT_CASES = "1,2,3,4,5,6,7,9,10"
QUICK_CASES = "1,2,3,4,5,6,7,10"
BEHAVIOURS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
# Worst first: a case's overall result is the worse of its "behavior" and "behaviorClose".
_RANK = {"FAILED": 0, "UNIMPLEMENTED": 1, "WRONG CODE": 1, "NON-STRICT": 2,
         "INFORMATIONAL": 3, "OK": 4}

INSTALL_TIMEOUT = 900
START_TIMEOUT = 20
CLIENT_CASE_TIMEOUT = 120  # one echo_client.py run (9.* cases move up to 16 MiB)


class HarnessError(Exception):
    """The suite could not be installed or run (not a compliance failure)."""


def log(msg):
    print("[compliance] %s" % msg, file=sys.stderr, flush=True)


# -- installation ---------------------------------------------------------------------

def find_python27():
    candidates = []
    if os.environ.get("WSFRAME_PYTHON27"):
        candidates.append(os.environ["WSFRAME_PYTHON27"])
    try:
        pyenv_root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    versions = os.path.join(pyenv_root, "versions")
    if os.path.isdir(versions):
        for name in sorted(os.listdir(versions), reverse=True):
            if name.startswith("2.7"):
                candidates.append(os.path.join(versions, name, "bin", "python2.7"))
    found = shutil.which("python2.7")
    if found:
        candidates.append(found)
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise HarnessError(
        "no Python 2.7 found (set WSFRAME_PYTHON27, or `pyenv install 2.7.18`)"
    )


def run_step(cmd, logfile, timeout=INSTALL_TIMEOUT, env=None):
    log("$ " + " ".join(cmd))
    with open(logfile, "ab") as out:
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise HarnessError("timed out after %ds: %s (log: %s)" % (timeout, cmd[0], logfile))
    if proc.returncode:
        raise HarnessError("failed (exit %d): %s (log: %s)" % (proc.returncode, " ".join(cmd), logfile))


def install(home, constraints):
    """Make sure ``home``/py27/bin/wstest exists and matches the constraints; return it."""
    if not os.path.isfile(constraints):
        raise HarnessError("constraints file not found: %s" % constraints)
    os.makedirs(home, exist_ok=True)
    with open(constraints, "rb") as f:
        stamp_value = hashlib.sha256(f.read()).hexdigest()
    venv = os.path.join(home, "py27")
    wstest = os.path.join(venv, "bin", "wstest")
    stamp = os.path.join(venv, ".wsframe-constraints-sha256")
    with open(os.path.join(home, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once install once
        if os.path.isfile(wstest) and _read(stamp) == stamp_value:
            return wstest
        py27 = find_python27()
        logfile = os.path.join(home, "install.log")
        log("installing the Autobahn Testsuite into %s (log: %s)" % (venv, logfile))
        tools = os.path.join(home, "tools")
        if not os.path.isfile(os.path.join(tools, "bin", "python")):
            run_step([sys.executable, "-m", "venv", tools], logfile)
        tools_py = os.path.join(tools, "bin", "python")
        # virtualenv 20.22 dropped the creation of Python 2 environments.
        run_step([tools_py, "-m", "pip", "install", "-q", "virtualenv<20.22"], logfile)
        shutil.rmtree(venv, ignore_errors=True)
        run_step([tools_py, "-m", "virtualenv", "-q", "-p", py27, venv], logfile)
        run_step([os.path.join(venv, "bin", "pip"), "install", "-q", "-c", constraints,
                  "autobahntestsuite"], logfile)
        if not os.path.isfile(wstest):
            raise HarnessError("wstest missing after the installation (log: %s)" % logfile)
        with open(stamp, "w") as f:
            f.write(stamp_value)
        return wstest


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


# -- processes ----------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError("process exited with %s before listening on %d"
                               % (proc.returncode, port))
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        time.sleep(0.1)
    raise HarnessError("nothing listening on port %d after %ds" % (port, timeout))


class Processes:
    """Every long-running process started here; each one is killed by its process group."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, logfile, env=None, cwd=None):
        out = open(logfile, "ab")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace=5.0):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(grace)
        else:  # the leader exited: make sure nothing it left in its group survives
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in list(self.procs):
            self.stop(proc)


def example_env(impl):
    env = dict(os.environ)
    paths = [os.path.join(ROOT, "src"), os.path.join(ROOT, "examples")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    if impl == "python":
        env["WSFRAME_NO_EXTENSIONS"] = "1"
    else:
        env.pop("WSFRAME_NO_EXTENSIONS", None)
    return env


def check_impl(impl, python):
    """Fail early when the implementation asked for is not the one that would run."""
    code = "import wsframe; print(wsframe.implementation)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                         env=example_env(impl), cwd=ROOT)
    got = out.stdout.strip()
    if got != impl:
        detail = ""
        if impl == "c":
            err = subprocess.run(
                [python, "-c", "import wsframe._codec_c"], capture_output=True, text=True,
                timeout=60, env=example_env(impl), cwd=ROOT,
            ).stderr.strip().splitlines()
            detail = ": " + (err[-1] if err else "?")
        raise HarnessError("implementation %r asked, %r active%s" % (impl, got or out.stderr, detail))


# -- case specs ---------------------------------------------------------------------

def case_patterns(spec):
    """'1-7,9,10' or '1.1.1,5' -> ['1.*', ..., '1.1.1', '5.*']."""
    patterns = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            patterns += ["%d.*" % n for n in range(int(lo), int(hi) + 1)]
        elif "." in part or "*" in part:
            patterns.append(part)
        else:
            patterns.append("%d.*" % int(part))
    return patterns


def spec_cases(patterns):
    return {
        "cases": patterns,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }


# -- the two directions ---------------------------------------------------------------

def run_server_side(wstest, impl, patterns, workdir, procs, python, timeout):
    """wstest -m fuzzingclient against examples/echo_server.py; returns the index."""
    port = free_port()
    server = procs.start(
        [python, os.path.join(ROOT, "examples", "echo_server.py"), "--port", str(port)],
        os.path.join(workdir, "echo_server.log"), env=example_env(impl), cwd=ROOT,
    )
    try:
        wait_port(port, server, START_TIMEOUT)
        outdir = os.path.join(workdir, "servers")
        spec = dict(spec_cases(patterns))
        spec.update({
            "outdir": outdir,
            "servers": [{"agent": "wsframe", "url": "ws://127.0.0.1:%d" % port}],
        })
        spec_path = os.path.join(workdir, "fuzzingclient.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f, indent=2)
        fuzzer = procs.start([wstest, "-m", "fuzzingclient", "-s", spec_path],
                             os.path.join(workdir, "wstest-fuzzingclient.log"), cwd=workdir)
        try:
            fuzzer.wait(timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("wstest fuzzingclient still running after %ds" % timeout)
        finally:
            procs.stop(fuzzer)
        if fuzzer.returncode != 0:
            raise HarnessError("wstest fuzzingclient exited with %s (see %s)"
                               % (fuzzer.returncode, workdir))
        if server.poll() is not None:
            raise HarnessError("echo_server.py died during the run (exit %s)" % server.returncode)
        return load_index(outdir), None
    finally:
        procs.stop(server)


def run_client_side(wstest, impl, patterns, workdir, procs, python, timeout):
    """wstest -m fuzzingserver, echo_client.py run once per case; returns the index."""
    port = free_port()
    outdir = os.path.join(workdir, "clients")
    spec = dict(spec_cases(patterns))
    spec.update({"url": "ws://127.0.0.1:%d" % port, "outdir": outdir})
    spec_path = os.path.join(workdir, "fuzzingserver.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=2)
    # -u 0: no embedded web server for the HTML reports (it would take port 8080).
    fuzzer = procs.start([wstest, "-m", "fuzzingserver", "-s", spec_path, "-u", "0"],
                         os.path.join(workdir, "wstest-fuzzingserver.log"), cwd=workdir)
    deadline = time.monotonic() + timeout
    env = example_env(impl)
    client = os.path.join(ROOT, "examples", "echo_client.py")
    client_log = os.path.join(workdir, "echo_client.log")
    base = "ws://127.0.0.1:%d" % port
    try:
        wait_port(port, fuzzer, START_TIMEOUT)
        count = get_case_count(port)
        log("client side (%s): %d cases" % (impl, count))
        with open(client_log, "ab") as out:
            for case in range(1, count + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("client side still running after %ds (case %d of %d)"
                                       % (timeout, case, count))
                url = "%s/runCase?case=%d&agent=wsframe" % (base, case)
                run_client(python, client, url, env, out, min(left, CLIENT_CASE_TIMEOUT))
            run_client(python, client, "%s/updateReports?agent=wsframe" % base, env, out,
                       max(1, min(deadline - time.monotonic(), 120)))
        if fuzzer.poll() is not None:
            raise HarnessError("wstest fuzzingserver died during the run (exit %s)"
                               % fuzzer.returncode)
        return load_index(outdir), count
    finally:
        procs.stop(fuzzer)


def run_client(python, client, url, env, out, timeout):
    out.write(("--- %s\n" % url).encode())
    out.flush()
    proc = subprocess.Popen([python, client, url], stdout=out, stderr=subprocess.STDOUT,
                            env=env, cwd=ROOT, start_new_session=True)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        out.write(b"(killed after %d s)\n" % int(timeout))
    # A non-zero exit is not an error here: the report says what the fuzzer saw.


def get_case_count(port, timeout=20):
    """The fuzzing server's case count, read with wsframe itself (/getCaseCount)."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import wsframe
    from wsframe import handshake

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        request, key = handshake.build_request("127.0.0.1:%d" % port, "/getCaseCount")
        sock.sendall(request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise HarnessError("getCaseCount: connection closed during the handshake")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        status, _reason, headers = handshake.parse_response(head + b"\r\n\r\n")
        handshake.check_response(status, headers, key)
        decoder = wsframe.FrameDecoder("client")
        data = rest
        while True:
            for event in decoder.feed(data):
                if event.opcode == wsframe.Opcode.TEXT:
                    sock.sendall(wsframe.FrameEncoder("client").close(1000))
                    return int(event.data)
                if event.opcode == wsframe.Opcode.CLOSE:
                    raise HarnessError("getCaseCount: closed before the count")
            data = sock.recv(4096)
            if not data:
                raise HarnessError("getCaseCount: connection closed before the count")


def load_index(outdir):
    path = os.path.join(outdir, "index.json")
    if not os.path.isfile(path):
        raise HarnessError("no report at %s" % path)
    with open(path) as f:
        index = json.load(f)
    if "wsframe" not in index:
        raise HarnessError("no results for agent 'wsframe' in %s" % path)
    return index["wsframe"]


# -- summary ------------------------------------------------------------------------

def case_key(case_id):
    return tuple(int(p) for p in case_id.split("."))


def overall(result):
    """The worse of the case's behaviour and its closing behaviour."""
    a = result.get("behavior", "FAILED")
    b = result.get("behaviorClose", "OK")
    return a if _RANK.get(a, 0) <= _RANK.get(b, 0) else b


def load_expected():
    if not os.path.isfile(EXPECTED_FILE):
        return {}
    with open(EXPECTED_FILE) as f:
        return json.load(f)


def summarise(label, results, expected, count=None):
    """Print the per-group table; return the list of problems (empty: target met).

    ``count``: how many cases the fuzzer announced; a case without a result (the testee
    never connected, or crashed before the handshake) is a problem too.
    """
    groups = OrderedDict()
    for case_id in sorted(results, key=case_key):
        groups.setdefault(case_id.split(".")[0], []).append(case_id)
    print()
    print("== %s: %d cases" % (label, len(results)))
    header = "%-6s %6s" % ("group", "cases") + "".join(" %14s" % b for b in BEHAVIOURS)
    print(header)
    total = Counter()
    problems = []
    for group, ids in sorted(groups.items(), key=lambda kv: int(kv[0])):
        counts = Counter()
        notes = []
        for case_id in ids:
            r = results[case_id]
            b = overall(r)
            counts[b if b in BEHAVIOURS else "FAILED"] += 1
            if b == "OK":
                continue
            known = expected.get(case_id)
            detail = "behavior=%s behaviorClose=%s remoteCloseCode=%s" % (
                r.get("behavior"), r.get("behaviorClose"), r.get("remoteCloseCode"))
            if b == "FAILED" or (group in TARGET_GROUPS and known != b):
                problems.append("%s %s: %s" % (label, case_id, detail))
            elif known:
                notes.append("   %s %s: explained in compliance/README.md" % (case_id, b))
            else:  # outside the strict target (groups 12, 13...): shown, not fatal
                notes.append("   %s %s: %s" % (case_id, b, detail))
        total.update(counts)
        print("%-6s %6d" % (group, len(ids)) + "".join(" %14d" % counts[b] for b in BEHAVIOURS))
        for note in notes:
            print(note)
    print("%-6s %6d" % ("all", len(results)) + "".join(" %14d" % total[b] for b in BEHAVIOURS))
    if count is not None and count != len(results):
        problems.append("%s: %d cases announced, %d reported (the testee did not run "
                        "the others: see echo_client.log)" % (label, count, len(results)))
    for p in problems:
        print("   NOT MET  " + p)
    return problems


# -- main -----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="groups 1-7 and 10, compiled implementation, both sides (for CI)")
    p.add_argument("--cases", help="case groups or ids, e.g. 1-7,9,10 (default) or 12,13")
    p.add_argument("--impl", choices=("c", "python", "both"),
                   help="implementation under test (default both; --quick: c)")
    p.add_argument("--side", choices=("server", "client", "both"), default="both",
                   help="server: wstest fuzzingclient vs echo_server.py; "
                        "client: wstest fuzzingserver vs echo_client.py")
    p.add_argument("--reports", default=os.path.join(HERE, "reports"),
                   help="where the JSON/HTML reports go (default compliance/reports)")
    p.add_argument("--home", default=os.environ.get("WSFRAME_AUTOBAHN_HOME", DEFAULT_HOME),
                   help="cache for the Python 2.7 virtualenv (default %(default)s)")
    p.add_argument("--constraints", default=os.environ.get("WSFRAME_AUTOBAHN_CONSTRAINTS",
                                                           DEFAULT_CONSTRAINTS))
    p.add_argument("--timeout", type=int, default=None,
                   help="seconds allowed for each direction of each implementation "
                        "(default 300, or 3600 with groups 12/13)")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter that runs the examples (default: this one)")
    p.add_argument("--install-only", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cases = args.cases or (QUICK_CASES if args.quick else DEFAULT_CASES)
    impl = args.impl or ("c" if args.quick else "both")
    impls = ["c", "python"] if impl == "both" else [impl]
    sides = ["server", "client"] if args.side == "both" else [args.side]
    patterns = case_patterns(cases)
    heavy = any(p.split(".")[0] in ("12", "13") or p == "*" for p in patterns)
    timeout = args.timeout or (3600 if heavy else 300)
    started = time.monotonic()
    procs = Processes()
    problems = []

    def on_signal(signum, frame):
        procs.stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        wstest = install(os.path.abspath(args.home), os.path.abspath(args.constraints))
        if args.install_only:
            log("installed: %s" % wstest)
            return 0
        expected = load_expected()
        for name in impls:
            check_impl(name, args.python)
            for side in sides:
                workdir = os.path.join(os.path.abspath(args.reports), name, side)
                shutil.rmtree(workdir, ignore_errors=True)
                os.makedirs(workdir)
                t0 = time.monotonic()
                log("%s implementation, wsframe as %s, cases %s" % (name, side, ",".join(patterns)))
                runner = run_server_side if side == "server" else run_client_side
                results, count = runner(wstest, name, patterns, workdir, procs, args.python,
                                        timeout)
                label = "%s implementation, wsframe as %s" % (name, side)
                problems += summarise(label, results, expected.get(side, {}), count)
                print("   (%.0f s)" % (time.monotonic() - t0))
    except HarnessError as exc:
        log("error: %s" % exc)
        return 2
    finally:
        procs.stop_all()
    print()
    print("reports in %s; %.0f s in all" % (args.reports, time.monotonic() - started))
    if problems:
        print("compliance: target NOT met (%d cases)" % len(problems))
        return 1
    print("compliance: target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
