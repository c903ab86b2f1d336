"""The public surface: both implementations provide the same names, the selection
switch works, the compiled module is really compiled, `python -m wsframe info` runs."""

import importlib.machinery
import os
import subprocess
import sys

import pytest

import wsframe
from wsframe import _impl


def run_python(code, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_same_names_in_both(impl):
    for name in _impl.PRIMITIVES + _impl.CODEC:
        assert callable(getattr(impl, name)), name
    assert set(wsframe.__all__) >= set(_impl.PRIMITIVES + _impl.CODEC)


def test_protocol_error_is_shared_and_a_value_error(impl):
    assert issubclass(wsframe.ProtocolError, ValueError)
    err = wsframe.ProtocolError(1002, "bad")
    assert (err.code, err.reason, str(err)) == (1002, "bad", "1002: bad")
    import pickle

    again = pickle.loads(pickle.dumps(err))
    assert (again.code, again.reason) == (1002, "bad")


def test_opcode_values():
    assert [int(op) for op in wsframe.Opcode] == [0, 1, 2, 8, 9, 10]


def test_compiled_module_is_really_compiled(request):
    if _impl.extensions_disabled() or request.config.getoption("--no-c-extensions"):
        pytest.skip("the C implementation is disabled")
    from wsframe import _codec_c, _primitives

    for module in (_codec_c, _primitives):
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), module
    # Compiled, the decoder is an extension type: no instance __dict__, C-level methods.
    assert not hasattr(_codec_c.FrameDecoder("server"), "__dict__")
    assert type(_codec_c.FrameDecoder.feed).__name__ != "function"
    assert wsframe.implementation == "c"


def test_env_switch_forces_python():
    result = run_python("import wsframe; print(wsframe.implementation)", WSFRAME_NO_EXTENSIONS="1")
    assert result.stdout.strip() == "python", result.stderr


def test_info_command():
    result = subprocess.run(
        [sys.executable, "-m", "wsframe", "info"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "implementation: %s" % wsframe.implementation in result.stdout
    for prim, path in wsframe.cpu_paths().items():
        assert "%s: %s" % (prim, path) in result.stdout


def test_unknown_command():
    result = subprocess.run(
        [sys.executable, "-m", "wsframe", "frobnicate"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "unknown command" in result.stderr


def test_interpreted_codec_runs_without_cython():
    """The pure-Python implementation must not need Cython at run time."""
    code = (
        "import sys; sys.modules['cython'] = None\n"
        "from wsframe import _impl\n"
        "impl = _impl.load('python')\n"
        "data = impl.FrameEncoder('client').text('ok')\n"
        "print(impl.FrameDecoder('server').feed(data)[0].data)\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == "ok", result.stderr
