"""README.md's examples run as written (issue 15: a new user follows it top to bottom)."""

import re
import pathlib
import types

import pytest

import wsframe

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks(language):
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (installed-wheel run)")
    return re.findall(r"```%s\n(.*?)```" % language, README.read_text(encoding="utf-8"), re.S)


def codec_example():
    [block] = [b for b in readme_blocks("python") if "FrameDecoder(" in b]
    return block


def run_codec_example(impl):
    """Runs the example with ``wsframe`` bound to the implementation under test; returns
    its globals."""
    namespace = types.SimpleNamespace(**{n: getattr(wsframe, n) for n in wsframe.__all__})
    for name in ("Frame", "Close", "FrameDecoder", "FrameEncoder"):
        setattr(namespace, name, getattr(impl, name))
    code = codec_example().replace("import wsframe\n", "")
    env = {"wsframe": namespace, "__name__": "readme"}
    exec(compile(code, str(README), "exec"), env)
    return env


def test_codec_example_runs(impl):
    """The sans-IO example (it ends with an assert on the bytes it produced)."""
    run_codec_example(impl)


def test_codec_example_handles_ping_binary_and_close(impl):
    on_bytes = run_codec_example(impl)["on_bytes"]
    client = impl.FrameEncoder("client")
    assert on_bytes(client.ping(b"p")) == b"\x8a\x01p"
    assert on_bytes(client.binary(b"\x00")) == b"\x82\x01\x00"
    assert on_bytes(client.close(1000)) == b"\x88\x02\x03\xe8"
    reply = on_bytes(b"\x81\x05hello")  # after the close, and unmasked: 1002 and the reason
    assert reply[:1] == b"\x88" and reply[2:4] == b"\x03\xea"
