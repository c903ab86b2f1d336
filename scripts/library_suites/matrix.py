"""Matrix mode of run.py: each library's own suite on several of its releases.

For each library named (default: all), for each release in its integration's ``tested``
tuple (the oldest supported, a middle and the newest: see ``wsframe.integrations``), a
virtualenv ``<venvs>/<library>-<version>`` is made (once; reused after) with that release,
pytest and the suite's test dependencies; run.py then runs in it for that one release
(``--version``), with ``--identical``: every test must have the same outcome without and
with ``install()``. wsframe itself is not installed in these virtualenvs: run.py puts this
tree's ``src/`` (with its built extension) on ``PYTHONPATH``, so the virtualenvs are made
from the Python running this script (same version, same ABI).

Then ``tests/integrations`` (wsframe's differential tests) runs in the same virtualenv,
against that release, on both of wsframe's implementations.

Libraries run one at a time, under ``nice``; each suite run is capped by ``--timeout``.
A markdown table of the results is printed and written to ``<work>/matrix.md``.
"""

import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Test dependencies of each suite beyond pytest (the library's own dependencies come with
# it). websocket-client's echo server is written with websockets.
TEST_DEPS = {
    # (its own suite, with --websockets-tests: trio (16.0 on), the proxy tests' client, werkzeug for the router (15.0 on))
    "websockets": ["trio", "python-socks[asyncio]", "werkzeug"],
    "wsproto": [],
    # (its pytest.ini filters a coverage warning: pytest fails without coverage)
    # (3.12's conftest imports isal, zlib_ng and blockbuster)
    "aiohttp": ["pytest-mock", "trustme", "freezegun", "coverage", "isal", "zlib-ng",
                "blockbuster"],
    "tornado": [],
    "autobahn": [],
    "websocket_client": ["websockets"],
}
COMMON_DEPS = ["pytest==9.2.0", "pytest-timeout==2.4.0", "hypothesis"]
# Releases whose suite needs an older pytest: tornado 6.2's AsyncTestCase cannot be
# collected by pytest >= 8.2 (no "runTest" method); tornado 6.3 fixed it.
PYTEST_FOR = {("tornado", "6.2"): "pytest==8.1.2"}


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def versions_of(name):
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import wsframe.integrations as wi

    return wi.get(name).tested, wi.get(name).dist


def make_venv(path, dist, version, deps, timeout):
    python = os.path.join(path, "bin", "python")
    stamp = os.path.join(path, "wsframe-matrix.ok")
    want = "%s==%s %s\n" % (dist, version, " ".join(deps))
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return python
    else:
        subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True,
                       timeout=timeout)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "%s==%s" % (dist, version)] + deps,
        check=True,
        timeout=timeout,
    )
    with open(stamp, "w") as f:
        f.write(want)
    return python


def nice():
    return ["nice", "-n", "10"] if os.name == "posix" else []


def run_integration_tests(python, name, log_path, timeout):
    """tests/integrations in this virtualenv; returns (passed, failed, skipped) or None."""
    xml = log_path[: -len(".log")] + ".xml"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    env.pop("WSFRAME_NO_INTEGRATIONS", None)
    cmd = nice() + [
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=300",
        "--junitxml", xml, "tests/integrations",
    ]
    with open(log_path, "w") as f:
        try:
            subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                           timeout=timeout)
        except subprocess.TimeoutExpired:
            f.write("\nTIMEOUT after %ss\n" % timeout)
    import run

    results = run.parse_junit(xml) if os.path.exists(xml) else {}
    if not results:
        return None
    counts = run.summary(results)
    return counts["passed"], counts["failed"], counts["skipped"]


def main(args, argv):
    names = args.libraries or list(TEST_DEPS)
    work = os.path.abspath(args.work)
    venvs = os.environ.get("WSFRAME_MATRIX_VENVS", "/tmp/wsframe-matrix")
    os.makedirs(work, exist_ok=True)
    if args.matrix_versions and len(names) != 1:
        sys.exit("--matrix-versions: name exactly one library")
    passthrough = []
    if args.websockets_tests:
        passthrough += ["--websockets-tests", args.websockets_tests]
    for d in args.websockets_deselect:
        passthrough += ["--websockets-deselect", d]
    if args.fallbacks:
        passthrough.append("--fallbacks")
    rows = []
    failed = []
    pyver = platform.python_version()
    for name in names:
        versions, dist = versions_of(name)
        if args.matrix_versions:
            versions = args.matrix_versions.split(",")
        for version in versions:
            tag = "%s-%s" % (name, version)
            log("#### %s %s (CPython %s)" % (name, version, pyver))
            start = time.monotonic()
            deps = COMMON_DEPS + TEST_DEPS[name]
            if (name, version) in PYTEST_FOR:
                deps = [PYTEST_FOR[name, version]] + [d for d in deps if d.split("=")[0] != "pytest"]
            try:
                python = make_venv(os.path.join(venvs, tag), dist, version, deps, args.timeout)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                log("FAIL %s: virtualenv: %s" % (tag, exc))
                rows.append((name, version, pyver, None, None, "virtualenv failed"))
                failed.append(tag)
                continue
            summary = os.path.join(work, "%s.json" % tag)
            if os.path.exists(summary):
                os.remove(summary)
            cmd = nice() + [
                python, os.path.join(HERE, "run.py"), name, "--version", version,
                "--identical", "--summary-json", summary,
                "--work", os.path.join(work, tag), "--timeout", str(args.timeout),
            ] + passthrough
            rc = subprocess.run(cmd, cwd=ROOT).returncode
            info = {}
            if os.path.exists(summary):
                with open(summary) as f:
                    info = json.load(f).get(name, {})
            integ = run_integration_tests(
                python, name, os.path.join(work, "%s-integrations.log" % tag), args.timeout
            )
            # (websockets without --websockets-tests: a note, its sdist having no tests)
            suite_ok = rc == 0 and info.get("ok", "note" in info)
            if not suite_ok or integ is None or integ[1]:
                failed.append(tag)
            rows.append((name, version, pyver, info, integ,
                         "%.0f s" % (time.monotonic() - start)))
    lines = [
        "| library | version | CPython | plain: passed/failed/skipped "
        "| installed: passed/failed/skipped | identical | tests/integrations "
        "(passed/failed/skipped) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, version, py, info, integ, note in rows:
        if info and "without" in info:
            plain = "%(passed)d / %(failed)d / %(skipped)d" % info["without"]
            inst = "%(passed)d / %(failed)d / %(skipped)d" % info["with"]
            same = "yes" if info.get("ok") else "**no**"
        else:
            plain = inst = "-"
            same = (info or {}).get("note", note) if info else note
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, version, py, plain, inst, same,
            "%d / %d / %d" % integ if integ else "did not run"))
    table = "\n".join(lines)
    with open(os.path.join(work, "matrix.md"), "w") as f:
        f.write(table + "\n")
    log("")
    log(table)
    if failed:
        log("matrix: FAILED for %s" % ", ".join(failed))
        return 1
    log("matrix: every release of every library: same results without and with install()")
    return 0
