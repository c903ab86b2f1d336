"""Run each library's own test suite without and with wsframe.integrations.install().

For each library: ``pip download --no-binary :all: --no-deps name==version`` (the tested
version), unpack the sdist, and run its tests with pytest twice against the library
installed in this environment: once as it is, once with ``WSFRAME_SUITE_INSTALL=<name>``,
which makes ``sitecustomize.py`` (first on PYTHONPATH) call
``wsframe.integrations.install(name, force=True)`` in every Python process of the run.
Results come from pytest's JUnit XML; the comparison fails (exit 1) if any test that
passed without acceleration does not pass with it, or if a "with" run was not really
accelerated.

Where the sdist's tests live inside the package (tornado, autobahn, websocket-client),
the installed package carries the very same files: the script checks that they are
byte-identical to the sdist's, then runs them with ``--pyargs`` so that they import the
installed (compiled) library. Where they live beside it (wsproto, aiohttp), they are run
from a copy of the unpacked sdist without the library's own source directory (aiohttp's
sdist has ``aiohttp/`` at its top: with it, ``python -m pytest`` would import that
uncompiled tree instead of the installed build, in the run without acceleration only,
since the "with" run's hook imports the library before the working directory is on
``sys.path``). Both runs record the file the library was imported from; the comparison
fails unless both tested the same installed build.

websockets ships no tests in its sdist. ``--websockets-tests DIR`` runs a local copy of
its ``tests/`` package instead (fetched separately from the project's repository, at a
version matching the installed websockets; it must live outside this repository and is
never committed here): DIR is copied to the work directory and run there, from its copy,
against the installed websockets.
"""

import argparse
import contextlib
import filecmp
import os
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# name (wsframe.integrations), dist, version, where the tests are, what to run, notes
SUITES = {
    "websockets": {
        "module": "websockets",
        "dist": "websockets",
        "version": "17.4",
        "tests": None,
        "note": "the websockets 17.4 sdist ships no tests (they live only in the "
        "project's repository); tests/integrations covers websockets instead",
    },
    "wsproto": {
        "module": "wsproto",
        "dist": "wsproto",
        "version": "1.3.2",
        "tests": "sdist",
        "args": ["tests"],
    },
    "aiohttp": {
        "module": "aiohttp",
        "dist": "aiohttp",
        "version": "3.14.5",
        "tests": "sdist",
        # Every websocket test module of aiohttp's suite (its whole suite takes far longer
        # than a CI budget and mostly tests HTTP); benchmarks need pytest-codspeed.
        "args": [
            "tests/test_websocket_parser.py",
            "tests/test_websocket_writer.py",
            "tests/test_websocket_handshake.py",
            "tests/test_websocket_data_queue.py",
            "tests/test_client_ws.py",
            "tests/test_client_ws_functional.py",
            "tests/test_web_websocket.py",
            "tests/test_web_websocket_functional.py",
        ],
        "note": "websocket test modules only; tests needing the network are none of these",
    },
    "tornado": {
        "module": "tornado",
        "dist": "tornado",
        "version": "6.6.1",
        "tests": "package",
        "package_tests": [("tornado/test", "tornado/test")],
        # tornado's tests assert on its log output as its own runner configures it.
        "args": [
            "-p",
            "tornado_runtests_logging",
            "--pyargs",
            "tornado.test.websocket_test",
            "tornado.test.util_test",
        ],
        "note": "websocket_test and util_test (where the masker lives)",
    },
    "autobahn": {
        "module": "autobahn",
        "dist": "autobahn",
        "version": "26.10.2",
        "tests": "package",
        "package_tests": [
            ("src/autobahn/websocket/test", "autobahn/websocket/test"),
            ("src/autobahn/nvx/test", "autobahn/nvx/test"),
        ],
        "args": ["--pyargs", "autobahn.websocket.test", "autobahn.nvx.test"],
        "env": {"USE_ASYNCIO": "1"},
        "note": "autobahn.websocket and autobahn.nvx tests (WAMP is not touched)",
    },
    "websocket_client": {
        "module": "websocket",
        "dist": "websocket-client",
        "version": "1.9.2",
        "tests": "package",
        "package_tests": [("websocket/tests", "websocket/tests")],
        "args": ["--pyargs", "websocket.tests"],
        # The suite's own echo server (websockets, not accelerated) on 127.0.0.1, so
        # that its LOCAL_WS_SERVER_PORT tests (real sockets: masking on send, UTF-8
        # validation on receive) run instead of skipping.
        "echo_server": "websocket/tests/echo-server.py",
        "note": "with the suite's echo server on 127.0.0.1 (LOCAL_WS_SERVER_PORT); "
        "tests that need the internet (TEST_WITH_INTERNET) skip themselves",
    },
}


# --fallbacks: the libraries' compiled parts off, in both runs (sitecustomize.py blocks
# the modules listed in WSFRAME_SUITE_BLOCK). wsproto has none.
FALLBACK_ENV = {
    "WSFRAME_SUITE_BLOCK": "websockets.speedups,tornado.speedups,wsaccel",
    "AIOHTTP_NO_EXTENSIONS": "1",
    "AUTOBAHN_USE_NVX": "0",
}


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def fetch(work, dist, version):
    """Download and unpack the sdist; return the unpacked directory."""
    dl = os.path.join(work, "sdists")
    os.makedirs(dl, exist_ok=True)
    norm = dist.replace("-", "_").lower()
    found = [
        f
        for f in os.listdir(dl)
        if f.lower().replace("-", "_").startswith("%s_%s." % (norm, version))
        or f.lower().replace("-", "_") == "%s_%s.tar.gz" % (norm, version)
    ]
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
                dl,
                "%s==%s" % (dist, version),
            ],
            check=True,
            timeout=600,
        )
        found = [
            f for f in os.listdir(dl) if f.lower().replace("-", "_").startswith("%s_%s" % (norm, version))
        ]
    archive = os.path.join(dl, sorted(found)[0])
    dest = os.path.join(work, "src")
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        target = os.path.join(dest, top)
        if not os.path.isdir(target):
            try:
                tar.extractall(dest, filter="data")
            except TypeError:  # Python < 3.12 without the filter backport
                tar.extractall(dest)
    return target


def installed_version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def same_tree(a, b):
    """True if every file under ``a`` (the sdist's) is byte-identical under ``b``."""
    for dirpath, dirnames, filenames in os.walk(a):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in filenames:
            if f.endswith((".pyc", ".so", ".pyd")):
                continue
            src = os.path.join(dirpath, f)
            other = os.path.join(b, os.path.relpath(src, a))
            if not os.path.exists(other) or not filecmp.cmp(src, other, shallow=False):
                return False, os.path.relpath(src, a)
    return True, None


def parse_junit(path):
    results = {}
    if not os.path.exists(path):
        return results
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        key = "%s::%s" % (case.get("classname"), case.get("name"))
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                break
            if child.tag == "skipped":
                outcome = "skipped"
        # A test can appear twice (call failure + teardown error): worst wins.
        if results.get(key) != "failed":
            results[key] = outcome
    return results


def shadow_free_copy(work, sdist, module):
    """A copy of the unpacked sdist without ``<module>/`` at its top (see the docstring)."""
    if not os.path.isdir(os.path.join(sdist, module)):
        return sdist
    dest = os.path.join(work, "run", os.path.basename(sdist))
    if not os.path.isdir(dest):
        shutil.copytree(
            sdist,
            dest,
            symlinks=True,
            ignore=lambda d, names: [module] if os.path.samefile(d, sdist) else [],
        )
    return dest


def local_tests_copy(work, name, local):
    """A fresh copy of a local tests/ package, as ``<work>/run/<name>-local/tests``."""
    dest = os.path.join(work, "run", "%s-local" % name)
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    shutil.copytree(
        local,
        os.path.join(dest, "tests"),
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return dest


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def echo_server(script, out_dir, name):
    """Run the suite's echo server (never accelerated) on a free 127.0.0.1 port."""
    import socket

    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WSFRAME_SUITE_")
    }
    env["LOCAL_WS_SERVER_PORT"] = str(port)
    with open(os.path.join(out_dir, "%s-echo-server.log" % name), "w") as logf:
        proc = subprocess.Popen(
            [sys.executable, script], env=env, stdout=logf, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("echo server %s did not start" % script)
                    time.sleep(0.1)
            yield {"LOCAL_WS_SERVER_PORT": str(port)}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def adapt_paths(spec, cwd):
    """The spec's test paths as this release has them: an older sdist may keep its tests in
    ``test/`` (wsproto 1.2) or lack one of the listed modules (then it is left out)."""
    args = []
    for arg in spec["args"]:
        if arg.startswith("-") or "/" not in arg and arg != "tests":
            args.append(arg)
            continue
        for candidate in (arg, "test" + arg[len("tests"):] if arg.startswith("tests") else None):
            if candidate and os.path.exists(os.path.join(cwd, candidate)):
                args.append(candidate)
                break
        else:
            log("   (%s is not in this release: left out)" % arg)
    return dict(spec, args=args)


def sdist_path(sdist, in_sdist):
    """A path of the sdist, with or without the ``src/`` layout (autobahn < 25.12)."""
    path = os.path.join(sdist, in_sdist)
    if not os.path.exists(path) and in_sdist.startswith("src/"):
        path = os.path.join(sdist, in_sdist[len("src/"):])
    return path


def run_suite(name, spec, cwd, out_dir, accelerated, timeout, extra_env=None):
    tag = "with" if accelerated else "without"
    xml = os.path.join(out_dir, "%s-%s.xml" % (name, tag))
    marker = os.path.join(out_dir, "%s-%s.marker" % (name, tag))
    origin = os.path.join(out_dir, "%s-%s.origin" % (name, tag))
    for p in (xml, marker, origin):
        if os.path.exists(p):
            os.remove(p)
    env = dict(os.environ)
    env.update(spec.get("env", {}))
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(
        [HERE, os.path.join(ROOT, "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.pop("WSFRAME_NO_INTEGRATIONS", None)
    env["WSFRAME_SUITE_ORIGIN"] = origin
    env["WSFRAME_SUITE_MODULE"] = spec["module"]
    if accelerated:
        env["WSFRAME_SUITE_INSTALL"] = name
        env["WSFRAME_SUITE_MARKER"] = marker
    else:
        env.pop("WSFRAME_SUITE_INSTALL", None)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--junitxml",
        xml,
        "--timeout=120",
        "-W",
        "ignore::DeprecationWarning",
    ] + spec["args"]
    start = time.monotonic()
    log_path = os.path.join(out_dir, "%s-%s.log" % (name, tag))
    with open(log_path, "w") as logf:
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdout=logf, stderr=subprocess.STDOUT, timeout=timeout
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    elapsed = time.monotonic() - start
    results = parse_junit(xml)
    hooked = []
    if os.path.exists(marker):
        with open(marker) as f:
            hooked = [line.split() for line in f if line.strip()]
    origins = set()
    if os.path.exists(origin):
        with open(origin) as f:
            origins = {line.split(" ", 1)[1].strip() for line in f if " " in line}
    return {
        "rc": rc,
        "results": results,
        "elapsed": elapsed,
        "log": log_path,
        "hooked": hooked,
        "origins": origins,
    }


def summary(results):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for v in results.values():
        counts[v] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libraries", nargs="*", help="default: all (%s)" % ", ".join(SUITES))
    parser.add_argument(
        "--work",
        default=os.environ.get(
            "WSFRAME_SUITES_DIR", os.path.join(ROOT, ".cache", "library_suites")
        ),
    )
    parser.add_argument(
        "--timeout", type=int, default=int(os.environ.get("WSFRAME_SUITE_TIMEOUT", "900"))
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="skip a library not installed at its tested version instead of failing",
    )
    parser.add_argument(
        "--fallbacks",
        action="store_true",
        help="run every library on its pure-Python fallback (%s)" % " ".join(
            "%s=%s" % kv for kv in sorted(FALLBACK_ENV.items())
        ),
    )
    parser.add_argument(
        "--websockets-tests",
        metavar="DIR",
        help="run websockets' own tests/ package from DIR (fetched separately from its "
        "repository, outside this repository: never committed here; '{version}' in DIR "
        "is replaced by the release under test, for --matrix); without it "
        "websockets is only noted, its sdist having no tests",
    )
    parser.add_argument(
        "--websockets-deselect",
        metavar="NODEID",
        action="append",
        default=[],
        help="with --websockets-tests: leave out this test (pytest node id, relative to "
        "DIR's parent, e.g. tests/sync/test_connection.py::ClientConnectionTests::test_x); "
        "for tests that are racy without wsframe already; repeatable",
    )
    parser.add_argument(
        "--version",
        metavar="VERSION",
        help="test this release of the (single) library named, instead of the default "
        "one (the matrix mode uses it, in a virtualenv holding that release)",
    )
    parser.add_argument(
        "--identical",
        action="store_true",
        help="fail unless every test has the same outcome without and with install() "
        "(by default: every test that passes without must pass with)",
    )
    parser.add_argument(
        "--summary-json",
        metavar="PATH",
        help="write each library's counts and verdict to PATH (JSON)",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="each library's oldest supported, a middle and the newest release, each in "
        "its own virtualenv (see matrix.py); the other options are passed on",
    )
    parser.add_argument(
        "--matrix-versions",
        metavar="V1,V2,...",
        help="with --matrix and one library: these releases instead of its tested ones",
    )
    args = parser.parse_args(argv)
    if args.matrix:
        import matrix

        return matrix.main(args, argv)
    if args.version:
        if len(args.libraries) != 1:
            parser.error("--version: name exactly one library")
        SUITES[args.libraries[0]] = dict(SUITES[args.libraries[0]], version=args.version)
    if args.websockets_tests:
        # "{version}" in DIR: the tests of the release under test (matrix mode)
        local = os.path.realpath(
            args.websockets_tests.replace("{version}", SUITES["websockets"]["version"]))
        if not os.path.isfile(os.path.join(local, "__init__.py")):
            parser.error("--websockets-tests: %s is not websockets' tests/ package" % local)
        if local == os.path.realpath(ROOT) or local.startswith(os.path.realpath(ROOT) + os.sep):
            parser.error("--websockets-tests: keep websockets' tests outside this repository")
        SUITES["websockets"] = dict(
            SUITES["websockets"],
            tests="local",
            local=local,
            args=["tests"] + [a for d in args.websockets_deselect for a in ("--deselect", d)],
            note="websockets' own tests from %s (not in its sdist)%s"
            % (local, ", %d deselected" % len(args.websockets_deselect)
               if args.websockets_deselect else ""),
        )
    if args.fallbacks:
        os.environ.update(FALLBACK_ENV)
    names = args.libraries or list(SUITES)
    os.makedirs(args.work, exist_ok=True)
    out_dir = os.path.join(args.work, "results")
    os.makedirs(out_dir, exist_ok=True)

    sys.path.insert(0, os.path.join(ROOT, "src"))
    import wsframe

    log("wsframe implementation: %s, cpu paths: %s" % (wsframe.implementation, wsframe.cpu_paths()))
    if args.fallbacks:
        log("libraries on their pure-Python fallbacks: %s" % " ".join(
            "%s=%s" % kv for kv in sorted(FALLBACK_ENV.items())))
    bad = []
    table = []
    summaries = {}
    for name in names:
        spec = SUITES[name]
        have = installed_version(spec["dist"])
        if have != spec["version"]:
            msg = "%s: installed %s, tested version is %s" % (name, have, spec["version"])
            if args.skip_missing:
                log("SKIP " + msg)
                table.append((name, "skipped: " + msg))
                continue
            log("FAIL " + msg + " (pip install %s==%s)" % (spec["dist"], spec["version"]))
            bad.append(name)
            continue
        if spec["tests"] == "local":
            cwd = local_tests_copy(args.work, name, spec["local"])
        else:
            sdist = fetch(args.work, spec["dist"], spec["version"])
            if spec["tests"] is None:
                log("NOTE %s %s: %s" % (
                    name, spec["version"], spec["note"].replace("17.4", spec["version"])))
                table.append((name, "no tests in the sdist (see --websockets-tests)"))
                continue
        if spec["tests"] == "package":
            import importlib.util

            base = os.path.dirname(
                os.path.dirname(importlib.util.find_spec(
                        spec["args"][spec["args"].index("--pyargs") + 1].split(".")[0]
                    ).origin)
            )
            for in_sdist, in_pkg in spec["package_tests"]:
                ok, which = same_tree(sdist_path(sdist, in_sdist), os.path.join(base, in_pkg))
                if not ok:
                    log("FAIL %s: installed test file %s differs from the sdist's" % (name, which))
                    bad.append(name)
                    break
            else:
                pass
            if name in bad:
                continue
            cwd = args.work
        elif spec["tests"] == "sdist":
            cwd = shadow_free_copy(args.work, sdist, spec["module"])
            spec = adapt_paths(spec, cwd)
        log("== %s %s: %s" % (name, spec["version"], spec.get("note", "full suite")))
        with contextlib.ExitStack() as stack:
            extra_env = {}
            if spec.get("echo_server"):
                extra_env = stack.enter_context(
                    echo_server(os.path.join(base, spec["echo_server"]), out_dir, name)
                )
            without = run_suite(name, spec, cwd, out_dir, False, args.timeout, extra_env)
            with_ = run_suite(name, spec, cwd, out_dir, True, args.timeout, extra_env)
        s0, s1 = summary(without["results"]), summary(with_["results"])
        regressions = sorted(
            k
            for k, v in without["results"].items()
            if v == "passed" and with_["results"].get(k) != "passed"
        )
        log(
            "   without: %(passed)d passed, %(failed)d failed, %(skipped)d skipped" % s0
            + "  (rc %s, %.0fs)" % (without["rc"], without["elapsed"])
        )
        log(
            "   with:    %(passed)d passed, %(failed)d failed, %(skipped)d skipped" % s1
            + "  (rc %s, %.0fs)" % (with_["rc"], with_["elapsed"])
        )
        if not with_["hooked"]:
            log("   FAIL: the 'with' run never installed the acceleration (see %s)" % with_["log"])
            bad.append(name)
        else:
            impls = sorted({h[1] for h in with_["hooked"]})
            log(
                "   accelerated in %d process(es), wsframe %s: %s"
                % (len(with_["hooked"]), "/".join(impls), with_["hooked"][0][3])
            )
        origins = without["origins"] | with_["origins"]
        if len(origins) != 1 or without["origins"] != with_["origins"]:
            log(
                "   FAIL: the two runs did not import the same %s: without %s, with %s"
                % (spec["module"], sorted(without["origins"]), sorted(with_["origins"]))
            )
            bad.append(name)
        else:
            where = next(iter(origins))
            log("   %s imported from %s (both runs)" % (spec["module"], where))
            if os.path.realpath(args.work) in where:
                log("   FAIL: that is the unpacked sdist, not the installed library")
                bad.append(name)
        if not without["results"]:
            log("   FAIL: no results (see %s)" % without["log"])
            bad.append(name)
        if args.identical:
            differ = sorted(
                k
                for k in set(without["results"]) | set(with_["results"])
                if without["results"].get(k) != with_["results"].get(k)
            )
            if differ:
                log("   FAIL: %d test(s) with another outcome with install():" % len(differ))
                for k in differ[:50]:
                    log("     %s: %s -> %s" % (
                        k, without["results"].get(k), with_["results"].get(k)))
                bad.append(name)
        if regressions:
            log("   FAIL: %d test(s) pass without and not with:" % len(regressions))
            for k in regressions[:50]:
                log("     %s" % k)
            bad.append(name)
        failed_both = sorted(
            k for k, v in without["results"].items() if v == "failed"
        )
        if failed_both:
            log("   (failing already without acceleration: %s)" % ", ".join(failed_both[:10]))
        summaries[name] = {
            "version": spec["version"],
            "without": s0,
            "with": s1,
            "seconds": [round(without["elapsed"]), round(with_["elapsed"])],
            "ok": name not in bad,
        }
        table.append(
            (
                name,
                "without %d/%d/%d with %d/%d/%d (passed/failed/skipped)"
                % (s0["passed"], s0["failed"], s0["skipped"], s1["passed"], s1["failed"], s1["skipped"]),
            )
        )
    log("")
    for name, line in table:
        log("%-17s %s" % (name, line))
    if args.summary_json:
        import json

        for name, line in table:
            summaries.setdefault(name, {"version": SUITES[name].get("version"), "note": line})
        for name in bad:
            summaries.setdefault(name, {"version": SUITES[name].get("version")})["ok"] = False
        with open(args.summary_json, "w") as f:
            json.dump(summaries, f, indent=1)
    if bad:
        log("library suites: FAILED for %s" % ", ".join(sorted(set(bad))))
        return 1
    log("library suites: every test that passes without install() passes with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
