"""Leak tests: memory stays flat over many frames and many decoders, both implementations.

Each workload runs in a fresh subprocess (this file run as a script): a warm-up tenth of
the work first, then the figures (``sys.getallocatedblocks()``: every live block of
Python's allocator, bytes included; the number of gc-tracked objects; RSS), the other
nine tenths, and the figures again. A leak of one small object per frame, per event or
per decoder shows as tens of thousands of blocks; a leak in C (malloc) of a few bytes per
call shows in RSS.

Sizes: WSFRAME_LEAK_FRAMES frames (default 100,000; CI's long leg or a release check
sets 1000000) cycled over every kind of frame, and WSFRAME_LEAK_DECODERS decoders
(default 100,000) created, fed and dropped.
"""

import gc
import json
import os
import re
import struct
import subprocess
import sys
import zlib

import pytest

FRAMES = int(os.environ.get("WSFRAME_LEAK_FRAMES", "100000"))
DECODERS = int(os.environ.get("WSFRAME_LEAK_DECODERS", "100000"))
CHILD_TIMEOUT = 600
KEY = b"\x01\x80\x7f\xfe"

# Allowed growth between the end of the warm-up and the end of the run.
MAX_BLOCKS = 1000  # a leak of 1 block per frame/decoder would be >= 90,000
MAX_OBJECTS = 100
MAX_RSS = 2 << 20  # a C leak of 24 bytes per frame would be > 2 MiB at 10**5


def frame(opcode, payload=b"", fin=True, rsv1=False, masked=True):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head = bytes((b0, m | n))
    elif n < 65536:
        head = bytes((b0, m | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, m | 127)) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


def deflated(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def frame_block(masked):
    """One of every kind of frame (19 frames), as a client (masked) or server sends them."""
    f = lambda *a, **k: frame(*a, masked=masked, **k)  # noqa: E731
    text = "caf\u00e9 \u2603 \U0001f600 ".encode() * 5
    return b"".join([
        f(1, text),                                    # text, one frame
        f(1, b""),                                     # empty text
        f(2, bytes(range(256))),                       # binary, 16-bit length
        f(2, bytes(70000)),                            # binary, 64-bit length
        f(1, text[:7], fin=False), f(0, text[7:30], fin=False), f(0, text[30:]),
        f(2, b"ab", fin=False), f(9, b"ping in between"), f(0, b"cd"),
        f(9, b"ping"), f(10, b"pong"), f(9),           # control frames
        f(1, deflated(text * 4), rsv1=True),           # compressed text (no context reset)
        f(2, deflated(bytes(5000)), rsv1=True),        # compressed binary
        f(2, deflated(b"xy" * 300)[:10], fin=False, rsv1=True),
        f(0, deflated(b"xy" * 300)[10:]),              # (fragment boundary in the stream)
        f(1, "\u00e9".encode() * 100),                 # 2-byte UTF-8 everywhere
    ]), 19


# Inputs that end a decoder: a close, or each kind of error.
ENDINGS = [
    (8, (1000).to_bytes(2, "big") + b"bye"),  # close
    (8, b""),                                 # close without a code
    (8, (1005).to_bytes(2, "big")),           # 1002: code that may not be sent
    (1, b"bad \xff utf-8"),                   # 1007
    (3, b"reserved opcode"),                  # 1002
    (0, b"continuation first"),               # 1002
]


def _rss():
    with open("/proc/self/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def figures():
    gc.collect()
    gc.collect()
    return {"blocks": sys.getallocatedblocks(), "objects": len(gc.get_objects()),
            "rss": _rss()}


def workload_frames(impl, wsframe, total):
    """Decode ``total`` frames of every kind, in both roles and every decoder mode."""
    blocks = {role: frame_block(masked=role == "server") for role in ("server", "client")}
    configs = [
        ("server", dict()),
        ("client", dict(text="bytes")),
        ("server", dict(assemble=False)),
        ("client", dict(assemble=False, text="bytes")),
    ]
    state = {"frames": 0, "events": 0}

    def decoders():
        while True:
            for role, kwargs in configs:
                pmd = wsframe.deflate.PerMessageDeflate(role)
                yield role, impl.FrameDecoder(role, extensions=[pmd], **kwargs)

    pool = decoders()

    def run(n):
        done = 0
        while done < n:
            role, decoder = next(pool)
            data, count = blocks[role]
            # A decoder takes the block 20 times: in one read, in 7-byte reads, and
            # split in the middle of a frame's header and payload.
            for rep in range(20):
                if rep % 10 == 1:
                    for i in range(0, len(data), 7):
                        state["events"] += len(decoder.feed(data[i : i + 7]))
                elif rep % 3 == 0:
                    cut = 5 + rep
                    state["events"] += len(decoder.feed(data[:cut]))
                    state["events"] += len(decoder.feed(memoryview(data)[cut:]))
                else:
                    state["events"] += len(decoder.feed(data))
                done += count
        state["frames"] += done

    return run, state


def workload_decoders(impl, wsframe, total):
    """Create ``total`` decoders, each fed something (often left mid-frame), and drop
    them; one in six ends with a close frame or a ProtocolError."""
    partial_header = frame(2, bytes(300))[:3]
    partial_text = frame(1, "\u00e9t\u00e9".encode() * 50)[:-3]
    partial_deflated = frame(1, deflated(b"hello " * 100), rsv1=True)[:-5]
    feeds = [b"", frame(9, b"hi"), partial_header, partial_text, partial_deflated,
             frame(1, b"a", fin=False) + frame(0, b"b", fin=False)]
    endings = [frame(op, payload) for op, payload in ENDINGS]
    state = {"decoders": 0, "errors": 0, "closes": 0}

    def run(n):
        for i in range(n):
            k = state["decoders"] + i
            ext = [wsframe.deflate.PerMessageDeflate("server")] if k % 2 else []
            decoder = impl.FrameDecoder("server", extensions=ext)
            try:
                decoder.feed(feeds[k % len(feeds)])
                if k % 6 == 5:
                    events = decoder.feed(endings[(k // 6) % len(endings)])
                    state["closes"] += sum(e.opcode == 8 for e in events)
            except wsframe.ProtocolError:
                state["errors"] += 1
        state["decoders"] += n

    return run, state


WORKLOADS = {"frames": workload_frames, "decoders": workload_decoders}


def child_main(argv):
    name, impl_name, total = argv[0], argv[1], int(argv[2])
    import wsframe
    import wsframe.deflate
    from wsframe import _impl

    impl = _impl.load(impl_name)
    run, state = WORKLOADS[name](impl, wsframe, total)
    if argv[3:] == ["leak"]:  # the self-test: keep one small object per decoder
        kept = []
        inner = run

        def run(n, inner=inner):
            inner(n)
            kept.extend(b"%d" % i for i in range(n))

    warm = total // 10
    run(warm)
    before = figures()
    run(total - warm)
    after = figures()
    print(json.dumps({"before": before, "after": after, "state": state}))


def run_child(impl, name, total, *extra):
    import wsframe

    src = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("WSFRAME_NO_EXTENSIONS", None)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), name, impl.name, str(total), *extra],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = {k: result["after"][k] - result["before"][k] for k in result["before"]}
    print("%s %s x%d: growth %s, %s" % (impl.name, name, total, growth, result["state"]))
    return growth, result["state"]


def assert_flat(growth):
    assert growth["blocks"] < MAX_BLOCKS, growth
    assert growth["objects"] < MAX_OBJECTS, growth
    assert growth["rss"] < MAX_RSS, growth


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_frames_of_every_kind(impl):
    growth, state = run_child(impl, "frames", FRAMES)
    assert state["frames"] >= FRAMES
    assert state["events"] > FRAMES // 2  # they really were decoded
    assert_flat(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_decoders_created_and_dropped(impl):
    growth, state = run_child(impl, "decoders", DECODERS)
    assert state["decoders"] == DECODERS
    assert state["errors"] > DECODERS // 30 and state["closes"] > DECODERS // 60
    assert_flat(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_leak_of_one_object_per_decoder_is_seen(impl):
    """The measure itself: the same workload, keeping one 34-byte object per decoder."""
    growth, _ = run_child(impl, "decoders", 20_000, "leak")
    assert growth["blocks"] > 10 * MAX_BLOCKS, growth
    with pytest.raises(AssertionError):
        assert_flat(growth)


if __name__ == "__main__":
    child_main(sys.argv[1:])
