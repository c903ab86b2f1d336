"""README.md's examples run as written (issue 15: a new user follows it top to bottom)."""

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
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


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_example_echoes_to_the_client_example(impl):
    """The 15-line server and the client snippet, as written (on a free port), each in
    its own interpreter."""
    pytest.importorskip("wsframe.asyncio", reason="wsframe.asyncio is not on this branch")
    [server] = [b for b in readme_blocks("python") if "serve(" in b]
    [client] = [b for b in readme_blocks("sh") if b.startswith("python -c '")]
    client = client[len("python -c '") : client.rindex("'")]
    port = str(_free_port())
    assert "8765" in server and "8765" in client
    env = dict(os.environ, WSFRAME_NO_EXTENSIONS="1" if impl.name == "python" else "0")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(wsframe.__file__).resolve().parents[1])]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", server.replace("8765", port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # until the server listens (bounded)
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[0].decode()
                assert time.monotonic() < deadline, "the server example did not listen"
                time.sleep(0.1)
        out = subprocess.run(
            [sys.executable, "-c", client.replace("8765", port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
        assert out.returncode == 0, out.stdout.decode()
        assert out.stdout.decode() == "hello\n"
    finally:
        proc.kill()
        proc.communicate(timeout=30)
