"""wsframe's types, checked with mypy (issue 15):

- tests/typing/usage_ok.py, typed use of the public API, passes ``mypy --strict``;
- tests/typing/usage_bad.py, wrong calls a new user makes: each line marked ``# E: code``
  gets exactly that error, and no other line gets one;
- mypy's stubtest finds the stubs (src/wsframe/*.pyi) identical to the running
  implementation, compiled and interpreted (names, parameters, defaults, kinds).

Skipped when mypy is not installed (``pip install '.[test]'`` installs it on CPython;
.ci/run always does).
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

import wsframe

pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy)")

HERE = pathlib.Path(__file__).resolve().parent / "typing"
CONFIG = HERE / "mypy.ini"
ALLOWLIST = HERE / "stubtest-allowlist.txt"
# "# E: code" or "# E: code|other" (the code some mypy versions give instead).
EXPECTED_RE = re.compile(r"#\s*E:\s*([\w|-]+)\s*$")
ERROR_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


def _env(**extra):
    """The environment to run mypy in: wsframe found where this test imported it from."""
    env = dict(os.environ, **extra)
    package_parent = str(pathlib.Path(wsframe.__file__).resolve().parents[1])
    # An installed wsframe is found through site-packages; a source tree (PYTHONPATH=src)
    # through MYPYPATH (mypy refuses site-packages there).
    if "site-packages" not in package_parent and "dist-packages" not in package_parent:
        env["MYPYPATH"] = package_parent
    # stubtest imports wsframe: the same one, whatever the (maybe relative) PYTHONPATH was.
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.pop("MYPY_CACHE_DIR", None)
    return env


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One mypy cache for the module's runs: wsframe and typeshed are analysed once."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache, *args, module="mypy", **env):
    cmd = [sys.executable, "-m", module]
    if module == "mypy":
        cmd += ["--config-file", str(CONFIG), "--cache-dir", str(cache)]
        cmd += ["--no-error-summary"]
    else:
        cmd += ["--mypy-config-file", str(CONFIG)]
    result = subprocess.run(
        cmd + list(args),
        cwd=str(HERE),
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=600,
    )
    return result.returncode, result.stdout


def test_typed_usage_passes(cache):
    code, out = _mypy(cache, "usage_ok.py")
    assert code == 0, out


def test_wrong_calls_are_flagged(cache):
    expected = {}
    for number, line in enumerate((HERE / "usage_bad.py").read_text().splitlines(), 1):
        match = EXPECTED_RE.search(line)
        if match:
            expected[number] = set(match.group(1).split("|"))
    assert len(expected) >= 20
    code, out = _mypy(cache, "usage_bad.py")
    assert code == 1, out
    found = {}
    for line in out.splitlines():
        match = ERROR_RE.match(line)
        if match:
            found.setdefault(int(match.group("line")), set()).add(match.group("code"))
        else:
            assert ": note: " in line, "unexpected mypy output: %r\n%s" % (line, out)
    missing = {n: c for n, c in expected.items() if not c & found.get(n, set())}
    unexpected = {n: c for n, c in found.items() if n not in expected or not c <= expected[n]}
    assert not missing, "expected errors mypy did not report: %s\n%s" % (missing, out)
    assert not unexpected, "errors on lines not marked (or other codes): %s\n%s" % (unexpected, out)


@pytest.mark.parametrize("implementation", ["c", "python"])
def test_stubs_match_the_implementation(cache, implementation):
    if implementation == "c":
        try:
            from wsframe import _codec_c  # noqa: F401
        except ImportError:
            pytest.skip("the C extension is not built")
    code, out = _mypy(
        cache,
        "--allowlist",
        str(ALLOWLIST),
        "--ignore-unused-allowlist",
        "wsframe",
        module="mypy.stubtest",
        WSFRAME_NO_EXTENSIONS="1" if implementation == "python" else "0",
    )
    assert code == 0, out


def test_readme_codec_example_type_checks(cache, tmp_path):
    readme = HERE.parents[1] / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not beside the tests")
    [block] = [
        b
        for b in re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
        if "FrameDecoder(" in b
    ]
    example = tmp_path / "readme_example.py"
    example.write_text(block)
    code, out = _mypy(cache, str(example))
    assert code == 0, out
