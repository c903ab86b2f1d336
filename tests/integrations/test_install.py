"""install()/uninstall(): idempotent, reversible, thread-safe, refusable, version-checked."""

import subprocess
import sys
import threading
import warnings

import pytest

import wsframe
import wsframe.integrations as wi
from wsframe.integrations._base import Integration, IntegrationWarning

from .conftest import require


def _current(dotted):
    """Resolve ``a.b.C.attr`` to the raw object stored there."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:-1]:
            obj = getattr(obj, name)
        if isinstance(obj, type):
            return obj.__dict__.get(parts[-1])
        return getattr(obj, parts[-1])
    raise LookupError(dotted)


@pytest.mark.parametrize("name", wi.LIBRARIES)
def test_install_uninstall_restores_every_original(name):
    integ = require(name)
    integ.uninstall()
    before = {}
    replaced = integ.install(force=True)
    try:
        assert replaced
        for dotted in replaced:
            assert _current(dotted) is not None
        originals = {d: o for (_, _, o, _, _), d in zip(integ._applied, replaced)}
        before = originals
        for dotted, original in originals.items():
            assert _current(dotted) is not original, dotted
        # Idempotent: a second install changes nothing and answers the same.
        applied = list(integ._applied)
        assert integ.install(force=True) == replaced
        assert integ._applied == applied
        assert wi.installed()[name] == replaced
    finally:
        assert integ.uninstall() is True
    assert integ.uninstall() is False
    assert name not in wi.installed()
    for dotted, original in before.items():
        assert _current(dotted) is original, dotted


def test_top_level_install_returns_what_it_accelerated():
    names = wi.available()
    if not names:
        pytest.skip("no supported library installed")
    try:
        done = wi.install(force=True)
        assert sorted(done) == sorted(names)
        assert all(done[n] for n in names)
        assert wi.installed() == done
        # Named subset, and aliases.
        assert wi.install(names[0], force=True) == {names[0]: done[names[0]]}
    finally:
        restored = wi.uninstall()
    assert sorted(restored) == sorted(names)
    assert wi.installed() == {}


def test_unknown_library_name_is_an_error():
    with pytest.raises(ValueError, match="unknown library"):
        wi.install("socketio")
    with pytest.raises(ValueError):
        wi.get("nope")


def test_alias_websocket_client():
    assert wi.get("websocket-client") is wi.get("websocket_client")


def test_env_refuses(monkeypatch):
    monkeypatch.setenv("WSFRAME_NO_INTEGRATIONS", "1")
    assert wi.install(force=True) == {}
    for name in wi.LIBRARIES:
        assert wi.get(name).install(force=True) == ()
    assert wi.installed() == {}
    monkeypatch.setenv("WSFRAME_NO_INTEGRATIONS", "0")
    if wi.available():
        try:
            assert wi.install(wi.available()[0], force=True)
        finally:
            wi.uninstall()


def test_env_refuses_in_a_fresh_process():
    code = (
        "import wsframe.integrations as wi; r = wi.install(force=True); "
        "print(repr(r)); assert r == {}, r"
    )
    env = dict(__import__("os").environ, WSFRAME_NO_INTEGRATIONS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{}"


def test_interpreted_wsframe_leaves_libraries_alone(monkeypatch):
    names = wi.available()
    if not names:
        pytest.skip("no supported library installed")
    monkeypatch.setattr(wsframe, "implementation", "python")
    with pytest.warns(IntegrationWarning, match="interpreted"):
        assert wi.install(names[0]) == {}
    assert wi.installed() == {}


class _Fake(Integration):
    name = "fake"
    module = "json"  # importable everywhere
    dist = "wsframe-fake-dist"
    tested = ("1.2.3",)
    minimum = (1, 2)
    below = (1, 3)

    def __init__(self, version):
        super().__init__()
        self._version = version

    def version(self):
        return self._version

    def patches(self):
        import json

        return [(json, "dumps", _fake_dumps, "json.dumps")]


def _fake_dumps(*a, **k):
    return "patched"


def test_unknown_version_warns_and_does_nothing():
    import json

    original = json.dumps
    fake = _Fake("9.0.0")
    with pytest.warns(IntegrationWarning, match=r"wsframe-fake-dist 9\.0\.0 is not a version"):
        assert fake.install(force=True) == ()
    assert json.dumps is original
    fake = _Fake(None)
    with pytest.warns(IntegrationWarning, match="None"):
        assert fake.install(force=True) == ()


def test_known_version_patches_and_restores():
    import json

    original = json.dumps
    fake = _Fake("1.2.7")
    assert fake.install(force=True) == ("json.dumps",)
    try:
        assert json.dumps({}) == "patched"
    finally:
        assert fake.uninstall()
    assert json.dumps is original


def test_someone_patching_after_us_is_left_alone():
    import json

    original = json.dumps
    fake = _Fake("1.2.0")
    fake.install(force=True)

    def theirs(*a, **k):
        return "theirs"

    json.dumps = theirs
    try:
        with pytest.warns(IntegrationWarning, match="replaced by someone else"):
            fake.uninstall()
        assert json.dumps is theirs
    finally:
        json.dumps = original


def test_failed_patch_rolls_back():
    import json

    original = json.dumps

    class Broken(_Fake):
        def patches(self):
            import json

            return [(json, "dumps", _fake_dumps, "json.dumps"), (json, "nope_missing", 1, "x")]

    fake = Broken("1.2.0")
    with pytest.raises(AttributeError):
        fake.install(force=True)
    assert json.dumps is original
    assert not fake.installed


def test_absent_library_is_skipped(monkeypatch):
    class Absent(_Fake):
        module = "wsframe_no_such_library_xyz"

    fake = Absent("1.2.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fake.install(force=True) == ()
    assert not fake.available()


def test_explicit_absent_library_raises(monkeypatch):
    integ = wi.get("tornado")
    monkeypatch.setattr(type(integ), "available", lambda self: False)
    with pytest.raises(ImportError, match="not installed"):
        wi.install("tornado", force=True)
    assert wi.install(force=True).get("tornado") is None
    wi.uninstall()


def test_concurrent_install_uninstall_is_consistent():
    names = wi.available()
    if not names:
        pytest.skip("no supported library installed")
    errors = []
    barrier = threading.Barrier(8)

    def worker(i):
        try:
            barrier.wait(timeout=30)
            for j in range(50):
                if (i + j) % 2:
                    wi.install(force=True)
                else:
                    wi.uninstall()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    # Whatever the interleaving, each library is now fully one state or the other.
    state = wi.installed()
    for name in names:
        integ = wi.get(name)
        if name in state:
            for _, attr, _, _, repl in integ._applied:
                assert repl is not None
    wi.uninstall()
    assert wi.installed() == {}
    for name in names:
        integ = require(name)
        # Fully restored: a fresh install/uninstall cycle works and restores.
        replaced = integ.install(force=True)
        originals = [o for (_, _, o, _, _) in integ._applied]
        integ.uninstall()
        for dotted, original in zip(replaced, originals):
            assert _current(dotted) is original


def test_bench_cases_interface():
    cases = wi.bench_cases(sizes=(32,))
    libs = {c.library for c in cases}
    assert libs == set(wi.available())
    for case in cases:
        assert case.path in ("receive", "send")
        assert case.size == 32 and case.batch >= 1
        assert case.name == "%s-%s-32B" % (case.library, case.path)
        for on in (False, True):
            with case.accelerated(on):
                assert wi.get(case.library).installed is on
                fn = case.prepare()
                fn()
                fn()
        assert not wi.get(case.library).installed
    if cases:
        result = cases[0].compare(min_time=0.01, repeat=1)
        assert set(result) == {"with", "without", "speedup"}
        assert result["with"] > 0 and result["without"] > 0


@pytest.mark.skipif(wsframe.implementation != "c", reason="install() needs the C extension")
def test_only_pure_python_maskers_of_websockets_aiohttp_tornado(monkeypatch):
    """Compiled maskers (measured not to pay) are kept; pure-Python ones are replaced."""
    cases = []
    if wi.get("tornado").available():
        import tornado.util
        import tornado.websocket

        cases.append(
            ("tornado", tornado.websocket, "_websocket_mask", tornado.util._websocket_mask_python)
        )
    if wi.get("websockets").available():
        from websockets import frames, utils

        cases.append(("websockets", frames, "apply_mask", utils.apply_mask))
    if wi.get("aiohttp").available():
        from aiohttp._websocket import helpers, writer

        cases.append(("aiohttp", writer, "websocket_mask", helpers._websocket_mask_python))
    if not cases:
        pytest.skip("none of websockets, aiohttp, tornado is installed")
    for name, module, attr, pure in cases:
        require(name)
        integ = wi.get(name)
        integ.uninstall()
        compiled = getattr(module, attr) is not pure
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            replaced = integ.install()
        try:
            if compiled:
                assert "%s.%s" % (module.__name__, attr) not in replaced
        finally:
            integ.uninstall()
        monkeypatch.setattr(module, attr, pure)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            replaced = integ.install()
        try:
            assert "%s.%s" % (module.__name__, attr) in replaced
            assert getattr(module, attr).__wrapped__ is pure
        finally:
            integ.uninstall()
        assert getattr(module, attr) is pure
