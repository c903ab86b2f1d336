#!/usr/bin/env python3
"""Differential fuzzer of the whole public API with arguments of any type (issue 13).

    python fuzz/fuzz_api.py -max_total_time=30        # bounded run (CI)
    python fuzz/fuzz_api.py fuzz/artifacts/crash-...  # replay one input
    python fuzz/fuzz_api.py --self-test               # the oracle catches a difference

Each input picks public callables and builds their arguments from a small grammar of
hostile values (None, bools, ints of every size and sign, floats with NaN and infinities,
str, bytes, bytearray, memoryviews strided, read-only, multi-dimensional or of another
format, arrays, lists, plain objects, overlapping views of one buffer), then calls the
C and the Python implementation with equal arguments. The rules:

1. the process survives (a crash, a hang or a sanitizer report is a finding);
2. both raise the same exception class, or both return equal results (events compared
   by content; masked encoder output is not compared, its key is random);
3. only exceptions the API documents: TypeError, ValueError (ProtocolError is one),
   OverflowError, RuntimeError, BufferError, UnicodeError; anything else (SystemError,
   AttributeError, MemoryError, IndexError...) is a finding.
"""

import array
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

try:
    import atheris
except ImportError:  # replaying and --self-test need no atheris
    atheris = None

from wsframe import _impl  # noqa: E402

try:
    C = _impl.load("c")
except ImportError as exc:
    sys.exit("fuzz_api: the C extension is not importable (%s); build it first" % exc)
PY = _impl.load("python")

DOCUMENTED = (TypeError, ValueError, OverflowError, RuntimeError, BufferError)


class Input:
    """Reads choices from the fuzzer's bytes; zeros once they run out."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def byte(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def int(self, n):
        return int.from_bytes(bytes(self.byte() for _ in range(n)), "little")

    def blob(self, limit=80):
        n = self.byte() % (limit + 1)
        out = bytes(self.byte() for _ in range(n))
        return out


INTS = (0, 1, 2, 3, 4, 5, 8, 15, 16, 125, 126, 1000, 1005, 65535, 65536, -1, -2,
        (1 << 31) - 1, 1 << 31, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 1 << 64, 1 << 70,
        -(1 << 63), -(1 << 64))
FLOATS = (0.0, 0.5, 1.5, 4.0, 1024.0, -1.0, math.nan, math.inf, -math.inf)
STRS = ("", "server", "client", "str", "bytes", "mask", "utf8", "auto", "scalar", "avx2",
        "python", "1000", "héllo", "\udcff", "abcd")


def value(inp, depth=0):
    """A hostile value: the kind from one byte, its content from the next ones. Returns
    a factory, so that each implementation gets its own (equal) object."""
    kind = inp.byte() % 24
    if kind == 0:
        return lambda: None
    if kind == 1:
        b = bool(inp.byte() & 1)
        return lambda: b
    if kind == 2:
        n = INTS[inp.byte() % len(INTS)]
        return lambda: n
    if kind == 3:
        n = inp.int(2) - 32768
        return lambda: n
    if kind == 4:
        f = FLOATS[inp.byte() % len(FLOATS)]
        return lambda: f
    if kind == 5:
        s = STRS[inp.byte() % len(STRS)]
        return lambda: s
    if kind in (6, 7, 8):
        b = inp.blob()
        return lambda: b
    if kind == 9:
        b = inp.blob(4)
        return lambda: b
    if kind == 10:
        b = inp.blob()
        return lambda: bytearray(b)
    if kind == 11:
        b = inp.blob()
        return lambda: memoryview(b)  # read-only
    if kind == 12:
        b = inp.blob()
        step = 1 + inp.byte() % 4
        return lambda: memoryview(bytearray(b))[::step]
    if kind == 13:
        b = inp.blob(64)
        b = b[: len(b) - len(b) % 4]
        return lambda: memoryview(array.array("i", b) if b else array.array("i"))
    if kind == 14:
        b = inp.blob(64)
        rows = 1 + inp.byte() % 4
        b = b[: len(b) - len(b) % rows]
        return lambda: memoryview(bytearray(b)).cast("B", (rows, len(b) // rows)) if b else b""
    if kind == 15:
        b = list(inp.blob(8))
        return lambda: list(b)
    if kind == 16:
        return lambda: object()
    if kind == 17:
        from wsframe import Opcode

        op = list(Opcode)[inp.byte() % len(Opcode)]
        return lambda: op
    if kind == 18:
        b = bytes(inp.blob(1000)) * (1 + inp.byte())  # up to ~256 KiB: GIL-releasing sizes
        return lambda: b
    if kind == 19:
        return lambda: ()
    if kind == 20:
        from wsframe.deflate import PerMessageDeflate

        role = "server" if inp.byte() & 1 else "client"
        return lambda: [PerMessageDeflate(role)]
    if kind == 21:
        s = STRS[inp.byte() % len(STRS)]
        return lambda: [s]
    if kind == 22:
        key = bytes(inp.byte() for _ in range(4))
        return lambda: key
    n = inp.byte()
    return lambda: n  # a small int


def _dec(i, role, **kw):
    return i.FrameDecoder(role, **kw)


# name -> (number of arguments, call(impl, args)); arguments are the fuzzed values.
CALLS = [
    ("apply_mask", 3, lambda i, a: i.apply_mask(*a)),
    ("apply_mask/2", 2, lambda i, a: i.apply_mask(*a)),
    ("apply_mask_inplace", 3, lambda i, a: i.apply_mask_inplace(*a)),
    ("apply_mask_into", 4, lambda i, a: i.apply_mask_into(*a)),
    ("validate_utf8", 1, lambda i, a: i.validate_utf8(*a)),
    ("Utf8Validator.feed", 2, lambda i, a: _feed_twice(i.Utf8Validator(), a)),
    ("available_paths", 1, lambda i, a: type(i.available_paths(*a))),  # (paths differ)
    ("parse_header", 2, lambda i, a: i.parse_header(*a)),
    ("parse_header/1", 1, lambda i, a: i.parse_header(*a)),
    ("encode_header", 5, lambda i, a: i.encode_header(a[0], a[1], fin=a[2], rsv=a[3], mask=a[4])),
    ("parse_close", 1, lambda i, a: i.parse_close(*a)),
    ("build_close", 2, lambda i, a: i.build_close(*a)),
    ("FrameDecoder", 6, lambda i, a: i.FrameDecoder(
        a[0], max_message_size=a[1], max_frame_size=a[2], assemble=a[3], text=a[4],
        extensions=a[5])),
    ("FrameDecoder.feed", 2, lambda i, a: _dec(i, "server").feed(a[0]) + _dec(i, "client").feed(a[1])),
    ("FrameEncoder", 3, lambda i, a: i.FrameEncoder(a[0], max_frame_size=a[1], extensions=a[2])),
    ("FrameEncoder.text", 1, lambda i, a: i.FrameEncoder("server").text(*a)),
    ("FrameEncoder.binary", 1, lambda i, a: i.FrameEncoder("server").binary(*a)),
    ("FrameEncoder.ping", 1, lambda i, a: i.FrameEncoder("server").ping(*a)),
    ("FrameEncoder.pong", 1, lambda i, a: i.FrameEncoder("server").pong(*a)),
    ("FrameEncoder.close", 2, lambda i, a: i.FrameEncoder("server").close(*a)),
    ("FrameEncoder.encode", 4, lambda i, a: i.FrameEncoder("server").encode(*a)),
    ("FrameEncoder.encode_parts", 4, lambda i, a: i.FrameEncoder("server").encode_parts(*a)),
    ("FrameEncoder(client).binary", 1, lambda i, a: len(i.FrameEncoder("client").binary(*a))),
    ("Frame", 4, lambda i, a: i.Frame(*a)),
    ("Close", 3, lambda i, a: i.Close(*a)),
    ("FrameHeader", 7, lambda i, a: i.FrameHeader(*a)),
]


def _feed_twice(validator, args):
    return (validator.feed(args[0]), validator.feed(args[1]), validator.complete,
            validator.error_offset)


def comparable(result):
    if isinstance(result, list):
        return [comparable(x) for x in result]
    if isinstance(result, tuple):
        return tuple(comparable(x) for x in result)
    if isinstance(result, (bytes, str, bool, int, float, type(None))):
        return result
    if isinstance(result, (bytearray, memoryview)):
        return bytes(result)
    if hasattr(result, "opcode") and hasattr(result, "data"):
        data = result.data
        return (type(result).__name__, int(result.opcode) if isinstance(result.opcode, int)
                else None, data if isinstance(data, (bytes, str)) else None)
    return type(result).__name__


def outcome(call, impl, factories):
    args = [f() for f in factories]
    try:
        result = call(impl, args)
    except DOCUMENTED as exc:
        return ("raised", type(exc).__name__)
    return ("returned", comparable(result))


def test_one_input(data):
    inp = Input(data)
    for _ in range(1 + inp.byte() % 3):
        name, nargs, call = CALLS[inp.byte() % len(CALLS)]
        factories = [value(inp) for _ in range(nargs)]
        results = [outcome(call, impl, factories) for impl in (C, PY)]
        if results[0] != results[1]:
            raise AssertionError(
                "%s: C %r, Python %r" % (name, results[0][:2], results[1][:2])
            )


def self_test():
    """Drift one implementation: the oracle must notice."""
    global PY
    import types

    saved = PY
    drifted = dict(vars(PY))
    drifted["validate_utf8"] = lambda data: True
    PY = types.SimpleNamespace(**drifted)
    try:
        # validate_utf8 (call 4) of a blob "\xff"
        test_one_input(bytes([0, 4, 6, 1, 0xFF]))
    except AssertionError as exc:
        print("self-test: drift detected as expected: %s" % exc)
    else:
        raise SystemExit("self-test FAILED: the oracle did not see the drift")
    finally:
        PY = saved
    # and an input of every call, with plain values, passes
    for index in range(len(CALLS)):
        test_one_input(bytes([0, index]) + bytes(40))
    print("self-test passed")


def main(argv):
    if "--self-test" in argv:
        self_test()
        return
    if atheris is None:
        sys.exit("fuzz_api: pip install atheris")
    args = list(argv)
    if not any(a.startswith("-artifact_prefix=") for a in args):
        artifacts = os.path.join(HERE, "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        args.append("-artifact_prefix=" + artifacts + os.sep)
    if not any(a.startswith("-max_len=") for a in args):
        args.append("-max_len=512")
    if not any(a.startswith("-timeout=") for a in args):
        args.append("-timeout=10")
    if not any(a.startswith("-rss_limit_mb=") for a in args):
        args.append("-rss_limit_mb=2048")
    # Coverage of every loaded Python function (wsframe's interpreted code, _args, this
    # grammar) guides the search.
    atheris.instrument_all()
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
