"""Memory bounds under hostile input, in both implementations.

Each scenario runs in a fresh subprocess (this file run as a script) so that its figures
are its own: ``tracemalloc``'s peak (every Python-level allocation, the compiled codec's
included) and the peak RSS (VmHWM, reset before the scenario through
/proc/self/clear_refs), both relative to the moment the hostile input starts. Each one
is asserted far below what a naive decoder would take.

The scenarios: a flood of 10**6 empty continuation frames; a frame declaring 2**62
bytes; a message dribbled in 1-byte reads; a 1 GiB decompression bomb (built from a
steady-state DEFLATE block repeated, so neither the test nor the decoder ever holds the
gigabyte).
"""

import json
import os
import re
import subprocess
import sys
import tracemalloc
import zlib

import pytest

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
KEY = b"\x9a\x1c\x52\xe7"
CHILD_TIMEOUT = 120

# -- helpers shared by the parent and the child ---------------------------------------


def masked_frame(impl, opcode, payload, fin=True, rsv1=False, length=None):
    """A client-to-server frame (masked with KEY); ``length`` overrides the declared one."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    head = bytes((b0,))
    if n < 126:
        head += bytes((0x80 | n,))
    elif n < 65536:
        head += bytes((0x80 | 126,)) + n.to_bytes(2, "big")
    else:
        head += bytes((0x80 | 127,)) + n.to_bytes(8, "big")
    return head + KEY + impl.apply_mask(payload, KEY)


def bomb_payload(size=GiB):
    """Raw DEFLATE data (RFC 7692: sync-flushed, tail removed) inflating to ``size`` zero
    bytes, built in about 0.1 s without ever holding more than 1 MiB of plain data.

    With a window full of zeros, the compressor's output for each further sync-flushed
    MiB of zeros is the same block: the stream is two leading blocks and that block
    repeated. ``check_bomb`` proves the block stationary on a short prefix.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(MiB)
    first = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    second = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    steady = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    assert steady == c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    n = size // MiB
    data = first + second + steady * (n - 2)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4], (first, second, steady)


def inflated_size(data, chunk=4 * MiB):
    d = zlib.decompressobj(-15)
    total = 0
    buf = data + b"\x00\x00\xff\xff"
    while buf:
        out = d.decompress(buf, chunk)
        if out.count(0) != len(out):
            raise AssertionError("the bomb inflates to something else than zeros")
        total += len(out)
        buf = d.unconsumed_tail
    return total


# -- scenarios (run in the child) -----------------------------------------------------
# Each is a generator: what it does before its first ``yield`` (building the input) is
# not measured; what follows is, and its return value is the result.


def scenario_flood(impl, wsframe, assemble):
    """10**6 empty continuation frames after the first frame of a message."""
    decoder = impl.FrameDecoder("server", assemble=assemble)
    decoder.feed(masked_frame(impl, 2, b"", fin=False))
    per_feed = 10_000
    chunk = masked_frame(impl, 0, b"", fin=False) * per_feed
    yield
    frames = 0
    events = 0
    try:
        while frames < 10**6:
            events += len(decoder.feed(chunk))
            frames += per_feed
    except wsframe.ProtocolError as exc:
        return {"code": exc.code, "frames_before_error": frames, "events": events}
    return {"code": None, "frames_before_error": frames, "events": events}


def scenario_declared(impl, wsframe, received):
    """A binary frame declaring 2**62 bytes: over the default limit, then accepted by a
    decoder whose limits allow it and fed ``received`` bytes of it."""
    head = masked_frame(impl, 2, b"", length=1 << 62)
    chunk = bytes(64 * KiB)
    yield
    result = {}
    try:
        impl.FrameDecoder("server").feed(head)
        result["default_code"] = None
    except wsframe.ProtocolError as exc:
        result["default_code"] = exc.code
    decoder = impl.FrameDecoder("server", max_message_size=1 << 63, assemble=False)
    decoder.feed(head)
    events = 0
    for _ in range(received // len(chunk)):
        events += len(decoder.feed(chunk))
    result["events"] = events
    return result


def scenario_dribble(impl, wsframe, size, assemble):
    """A text message of ``size`` bytes in two fragments, then a binary message of one
    frame, fed one byte per call."""
    text = ("d\u00e9j\u00e0 vu \u2014 \U0001f600 " * (size // 20 + 1)).encode()[:size]
    text = text.decode("utf-8", "ignore").encode()
    half = len(text) // 2
    blob = bytes(range(256)) * (size // 256)
    stream = masked_frame(impl, 1, text[:half], fin=False) + masked_frame(impl, 0, text[half:])
    stream += masked_frame(impl, 2, blob)
    reads = [stream[i : i + 1] for i in range(len(stream))]
    decoder = impl.FrameDecoder("server", assemble=assemble, max_message_size=4 * size)
    yield
    events = []
    for read in reads:
        events += decoder.feed(read)
    if assemble:
        ok = [e.data for e in events] == [text.decode(), blob]
    else:
        ok = [e.data for e in events] == [text[:half], text[half:], blob]
    return {"ok": ok, "events": len(events), "stream": len(stream)}


def scenario_bomb(impl, wsframe, path, limit, fragment):
    """The 1 GiB bomb as one compressed message (in frames of ``fragment`` bytes, or one
    frame when 0), fed in 64 KiB reads to a permessage-deflate server decoder whose frame
    limit lets the compressed frames in: the message limit is what must stop it."""
    with open(path, "rb") as f:
        payload = f.read()
    size = fragment or len(payload)
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    stream = b"".join(
        masked_frame(impl, 2 if i == 0 else 0, piece, fin=i == len(pieces) - 1, rsv1=i == 0)
        for i, piece in enumerate(pieces)
    )
    del payload, pieces
    reads = [stream[i : i + 64 * KiB] for i in range(0, len(stream), 64 * KiB)]
    del stream
    pmd = wsframe.deflate.PerMessageDeflate("server")
    decoder = impl.FrameDecoder(
        "server", max_message_size=limit, max_frame_size=4 * MiB, extensions=[pmd]
    )
    yield
    fed = 0  # bytes fed before the read that failed
    try:
        for read in reads:
            decoder.feed(read)
            fed += len(read)
    except wsframe.ProtocolError as exc:
        return {"code": exc.code, "reason": exc.reason, "fed_before_error": fed}
    return {"code": None, "fed_before_error": fed}


SCENARIOS = {
    "flood": scenario_flood,
    "declared": scenario_declared,
    "dribble": scenario_dribble,
    "bomb": scenario_bomb,
}


def _status(field):
    with open("/proc/self/status") as f:
        return int(re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M).group(1)) * KiB


def child_main(argv):
    name, impl_name, kwargs = argv[0], argv[1], json.loads(argv[2])
    import wsframe
    import wsframe.deflate
    from wsframe import _impl

    impl = _impl.load(impl_name)
    impl.FrameDecoder("server").feed(masked_frame(impl, 1, b"warm-up"))
    scenario = SCENARIOS[name](impl, wsframe, **kwargs)
    next(scenario)  # build the input: not measured
    rss_ok = os.path.exists("/proc/self/clear_refs")
    if rss_ok:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM (peak RSS) to the current RSS
        except OSError:
            rss_ok = False
    rss0 = _status("VmRSS") if rss_ok else 0
    tracemalloc.start()
    try:
        next(scenario)
        raise AssertionError("scenario %s yielded twice" % name)
    except StopIteration as stop:
        result = stop.value
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result["traced_peak"] = peak
    result["rss_peak_growth"] = _status("VmHWM") - rss0 if rss_ok else None
    print(json.dumps(result))


# -- the tests (parent) ---------------------------------------------------------------


def run_child(impl, name, **kwargs):
    import wsframe

    src = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("WSFRAME_NO_EXTENSIONS", None)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), name, impl.name, json.dumps(kwargs)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("%s %s %s: %s" % (impl.name, name, kwargs, result))
    return result


def assert_rss(result, bound):
    if result["rss_peak_growth"] is not None:
        assert result["rss_peak_growth"] < bound, result


@pytest.mark.parametrize("assemble", [True, False])
def test_flood_of_empty_continuation_frames(impl, assemble):
    # Naive cost: a decoder that records each fragment (a list slot and an empty bytes
    # object, 40+ bytes) would hold 40 MB for 10**6 of them; one that never charges
    # empty fragments would never stop. Each costs FRAGMENT_COST of the 1 MiB budget.
    result = run_child(impl, "flood", assemble=assemble)
    assert result["code"] == 1009
    assert result["frames_before_error"] <= 2**20 // 16 + 10_000
    if assemble:
        assert result["events"] == 0  # the message never completes
    else:
        assert result["events"] == result["frames_before_error"]  # one event per frame
    # Unassembled, each feed returns its 10,000 frame events (~120 bytes each): bounded
    # by the read, not by the flood.
    assert result["traced_peak"] < (1 * MiB if assemble else 3 * MiB), result
    assert_rss(result, 16 * MiB)


def test_declared_2_62_byte_frame(impl):
    # Naive cost: 4 EiB preallocated from the declared length (a MemoryError at best).
    received = 8 * MiB
    result = run_child(impl, "declared", received=received)
    assert result["default_code"] == 1009  # from the header, before any payload
    assert result["events"] == 0
    # Accepted by a decoder with limits above it: memory follows what arrived.
    assert result["traced_peak"] < 2 * received + MiB, result
    assert_rss(result, 3 * received + 16 * MiB)


@pytest.mark.parametrize("assemble", [True, False])
def test_message_dribbled_in_1_byte_reads(impl, assemble):
    # Naive cost: quadratic rebuffering (time) or one object per read (memory, ~120
    # bytes per byte). Bound: a few times the message, plus a constant.
    size = 64 * KiB
    result = run_child(impl, "dribble", size=size, assemble=assemble)
    assert result["ok"], result
    # The text message is kept as a str (up to 4 bytes per character) beside its bytes.
    assert result["traced_peak"] < 8 * size + 256 * KiB, result
    assert_rss(result, 4 * MiB)


def test_dribbled_message_is_decoded_correctly(impl):
    """A dribbled message gives exactly the events of the message."""
    result = run_child(impl, "dribble", size=16 * KiB, assemble=True)
    assert result["ok"], result
    assert result["events"] == 2


@pytest.fixture(scope="module")
def bomb_file(tmp_path_factory):
    payload, (first, second, steady) = bomb_payload(GiB)
    # The structure is proved on a prefix: 2 + 3 blocks inflate to exactly 5 MiB of
    # zeros, and each further copy of the stationary block to exactly 1 MiB more.
    prefix = first + second + steady * 3
    assert inflated_size(prefix[:-4]) == 5 * MiB
    assert inflated_size((prefix + steady)[:-4]) == 6 * MiB
    assert len(payload) == len(first) + len(second) + len(steady) * 1022 - 4
    assert len(payload) < 1100 * KiB  # a 1000:1 ratio
    path = tmp_path_factory.mktemp("bomb") / "bomb.deflate"
    path.write_bytes(payload)
    return str(path)


@pytest.mark.parametrize(
    "limit,fragment",
    [(1 * MiB, 0), (1 * MiB, 16 * KiB), (16 * MiB, 0)],
    ids=["1MiB-one-frame", "1MiB-fragments", "16MiB-one-frame"],
)
def test_decompression_bomb_1_GiB(impl, bomb_file, limit, fragment):
    # Naive cost: 1 GiB inflated (and as much again to join it).
    result = run_child(impl, "bomb", path=bomb_file, limit=limit, fragment=fragment)
    assert result["code"] == 1009, result
    # Stopped after inflating about the limit: at most ~1/1000 of the limit in
    # compressed bytes, and the read that crossed it (64 KiB).
    assert result["fed_before_error"] < limit // 1000 + 64 * KiB, result
    assert result["traced_peak"] < 3 * limit + 2 * MiB, result
    assert_rss(result, 4 * limit + 24 * MiB)


if __name__ == "__main__":
    child_main(sys.argv[1:])
