"""permessage-deflate: compress and decompress JSON-like messages of 1 KiB and 64 KiB.

``wsframe.deflate.PerMessageDeflate`` with each installed backend (zlib, zlib-ng, isal)
against websockets' own extension (``websockets.extensions.permessage_deflate.
PerMessageDeflate`` encoding/decoding a ``Frame``), all at the same settings: context
takeover, 15-bit windows, compression level 6 (zlib's default, which websockets uses;
isal maps it to its level 1), memLevel 8. A round is a sequence of distinct messages on
one connection, so context takeover works as in real traffic; each round gets a fresh connection, made
outside the timing. Timed in CPU time (``time.process_time``).

    pytest benchmarks/bench_deflate.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,ops

At the end a table gives each candidate's time (min and median of the rounds) as a ratio to
websockets' (below 1 is faster) and its compressed size as a fraction of the input.
"""

import functools
import json
import random
import time

import pytest

from wsframe.deflate import PerMessageDeflate, available_backends

KiB = 1024
SIZES = [(KiB, 64), (64 * KiB, 8)]  # message size, messages per round
ROUNDS = {KiB: 300, 64 * KiB: 60}  # rounds per message size
BACKENDS = ["zlib", "zlib-ng", "isal"]
CANDIDATES = ["websockets"] + ["wsframe-" + b for b in BACKENDS]

# CPU time of the process: the cost of (de)compression, undistorted by whatever else
# the machine runs (wall-clock ratios moved by +-30% on a loaded 2-core machine).
pytestmark = pytest.mark.benchmark(timer=time.process_time)

_results = {}  # (op, size, candidate) -> (median seconds, compressed bytes, raw bytes)


@functools.lru_cache(maxsize=None)
def json_messages(size, count, seed=0):
    """``count`` distinct JSON arrays of records, each cut to ``size`` bytes."""
    rng = random.Random(seed)
    words = ["click", "view", "purchase", "scroll", "login", "logout", "search"]
    messages = []
    for m in range(count):
        parts = []
        total = 0
        while total < size:
            item = json.dumps(
                {
                    "id": m * 10_000 + len(parts),
                    "user": "user%05d" % rng.randrange(100_000),
                    "event": rng.choice(words),
                    "ts": 1_700_000_000 + rng.randrange(10**7),
                    "price": round(rng.random() * 1000, 2),
                    "tags": rng.sample(["red", "green", "blue", "new", "sale", "vip"], 2),
                    "ok": rng.random() < 0.5,
                }
            )
            parts.append(item)
            total += len(item) + 2
        messages.append(("[" + ", ".join(parts) + "]")[:size].encode())
    return tuple(messages)


class Ours:
    """wsframe's extension: deflate/inflate whole messages."""

    def __init__(self, backend):
        self.backend = backend

    def compressor(self):
        pmd = PerMessageDeflate("server", backend=self.backend)
        pmd.deflate(b"", False)  # create the stream now, as websockets' constructor does
        return lambda data: pmd.deflate(data, True)

    def decompressor(self):
        pmd = PerMessageDeflate("client", backend=self.backend)
        pmd.inflate(b"", False, 0)  # likewise (an empty piece feeds nothing)
        return lambda data: pmd.inflate(data, True, 1 << 24)


class Theirs:
    """websockets' extension: encode/decode of a Frame."""

    def __init__(self):
        from websockets.extensions.permessage_deflate import PerMessageDeflate as PMD
        from websockets.frames import Frame, Opcode

        self.PMD, self.Frame, self.TEXT = PMD, Frame, Opcode.TEXT

    def compressor(self):
        ext = self.PMD(False, False, 15, 15)
        Frame, TEXT = self.Frame, self.TEXT
        return lambda data: bytes(ext.encode(Frame(TEXT, data)).data)

    def decompressor(self):
        ext = self.PMD(False, False, 15, 15)
        Frame, TEXT = self.Frame, self.TEXT
        return lambda data: bytes(ext.decode(Frame(TEXT, data, rsv1=True), max_size=1 << 24).data)


def candidate(name):
    if name == "websockets":
        pytest.importorskip("websockets")
        return Theirs()
    backend = name[len("wsframe-") :]
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)
    return Ours(backend)


def _times(benchmark):
    """(min, median) seconds per round, or None when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    return (stats.stats.min, stats.stats.median) if stats is not None else None


@pytest.mark.parametrize("size, count", SIZES, ids=["1KiB", "64KiB"])
@pytest.mark.parametrize("name", CANDIDATES)
def test_compress(benchmark, name, size, count):
    impl = candidate(name)
    messages = list(json_messages(size, count))
    benchmark.group = "deflate compress %dKiB" % (size // KiB)

    def run(compress):
        return [compress(m) for m in messages]

    compressed = run(impl.compressor())
    # the output is standard: any inflater gets the messages back
    check = Theirs().decompressor() if name != "websockets" else Ours("zlib").decompressor()
    assert [check(c) for c in compressed] == messages
    # A fresh connection per round, made outside the timing (websockets' constructor
    # also allocates the other direction's stream).
    benchmark.pedantic(run, setup=lambda: ((impl.compressor(),), {}), rounds=ROUNDS[size])
    wire = sum(len(c) for c in compressed)
    raw = sum(len(m) for m in messages)
    benchmark.extra_info["compressed_fraction"] = round(wire / raw, 4)
    _results[("compress", size, name)] = (_times(benchmark), wire, raw)


@pytest.mark.parametrize("size, count", SIZES, ids=["1KiB", "64KiB"])
@pytest.mark.parametrize("name", CANDIDATES)
def test_decompress(benchmark, name, size, count):
    impl = candidate(name)
    messages = list(json_messages(size, count))
    compress = Ours("zlib").compressor()  # one stream, as a zlib peer would send it
    compressed = [compress(m) for m in messages]
    benchmark.group = "deflate decompress %dKiB" % (size // KiB)

    def run(decompress):
        return [decompress(c) for c in compressed]

    assert run(impl.decompressor()) == messages
    benchmark.pedantic(run, setup=lambda: ((impl.decompressor(),), {}), rounds=ROUNDS[size])
    _results[("decompress", size, name)] = (_times(benchmark), None, None)


@pytest.fixture(scope="module", autouse=True)
def _ratio_table(request):
    yield
    if not _results:
        return
    lines = [
        "",
        "permessage-deflate: time relative to websockets as min/median (lower is faster),",
        "and compressed size as a fraction of the input",
    ]
    for op in ("compress", "decompress"):
        for size, _ in SIZES:
            base = _results.get((op, size, "websockets"), (None,))[0]
            cells = []
            for name in CANDIDATES:
                entry = _results.get((op, size, name))
                if entry is None or entry[0] is None or base is None:
                    continue
                (fastest, median), wire, raw = entry
                cell = "%s %.2f/%.2f" % (name, fastest / base[0], median / base[1])
                if wire is not None:
                    cell += " size %.3f" % (wire / raw)
                cells.append(cell)
            lines.append("%-10s %2dKiB: %s" % (op, size // KiB, "; ".join(cells)))
    # Module teardown runs under output capture: suspend it so the table is shown.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)
