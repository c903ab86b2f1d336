#!/usr/bin/env python3
"""Differential fuzzer of ``FrameDecoder.feed``: compiled vs interpreted implementation.

    python fuzz/fuzz_decoder.py -max_total_time=60          # bounded run (CI)
    python fuzz/fuzz_decoder.py -runs=2000000 -jobs=2 -workers=2
    python fuzz/fuzz_decoder.py fuzz/artifacts/crash-...     # replay one input
    python fuzz/fuzz_decoder.py --self-test                  # the oracle catches drift

Each input is decoded in one role with one set of options, fed in the chunks the input
chooses, by the compiled (``wsframe._codec_c``) and the interpreted (``_codec_py``)
decoder; the same stream is decoded once more in one piece. The rules checked:

1. ``feed`` raises nothing but ``wsframe.ProtocolError`` (any other exception, a crash or
   a hang is a finding), with a close code fit to send and a reason of at most 123
   bytes of UTF-8;
2. both implementations give exactly the same events (type, opcode, data, fin, rsv1,
   close code and reason) and the same error (code and reason), after the same chunk;
3. the result does not depend on where the stream is split: the same events and the
   same error; with permessage-deflate only whether it fails is compared, not which
   error, because a corrupt compressed message that also holds invalid UTF-8 (or
   inflates past the limit) is reported by whichever check sees its bytes first, and
   zlib's error comes before any output of the chunk it is in (1007 "invalid
   compressed data" for one read, 1007 "invalid UTF-8" or 1009 for another);
4. a failed decoder stays failed (the next ``feed`` raises the same code);
5. events are well formed: text as ``str`` when ``text="str"``, assembled messages
   with ``fin``, payloads within the configured limits.

Input layout (see ``parse_input``; ``make_corpus.py`` writes seeds in it):

    byte 0   flags: 0x01 client role, 0x02 assemble=False, 0x04 text="bytes",
             0x08 allow_any_masking, 0x10 allow_nonminimal_length,
             0x20 allow_any_close_code, 0x40 permessage-deflate, 0x80 max_frame_size set
    byte 1   limits: low nibble -> max_message_size, high nibble -> max_frame_size
    byte 2   deflate: bit0 peer no_context_takeover, bits 1-3 peer window bits - 8,
             bits 4-7 max_ratio choice
    byte 3   number of split points (mod 9)
    then     2 bytes (big endian) per split point, then the stream.

WSFRAME_FUZZ_IGNORE=name[,name] skips rule 3 for the open findings of that name (see
``KNOWN`` and fuzz/findings/README.md), so a long run can look for other bugs while a
fix is pending; the default ignores nothing.

Without the C extension the fuzzer refuses to run (rule 2 needs both) unless
WSFRAME_FUZZ_PYTHON_ONLY=1.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

try:
    import atheris
except ImportError:  # replaying and --self-test need no atheris
    atheris = None

# Index 0 is the default limit, so that a zero byte means "the defaults".
MESSAGE_SIZES = (1 << 20, 1, 2, 16, 125, 126, 127, 200, 1000, 4096, 65535, 65536, 70000,
                 16 << 20, 1 << 31, 1 << 62)
RATIOS = (None, None, None, None, None, None, None, None, 1, 2, 5, 10, 100, 1000, None, None)
HEADER_SIZE = 4
VALID_CODES = {1002, 1007, 1009, 1010, 1011}  # what the decoder may ask us to send


def _load():
    """Both implementations; the interpreted codec (and deflate.py) instrumented for
    coverage, which guides the search through the one source of the protocol."""
    global ProtocolError, deflate, PY, C
    ctx = atheris.instrument_imports(include=["wsframe"]) if atheris else _null()
    with ctx:
        from wsframe import ProtocolError, _impl, deflate

        PY = _impl.load("python")
        try:
            C = _impl.load("c")
        except ImportError as exc:
            if os.environ.get("WSFRAME_FUZZ_PYTHON_ONLY") != "1":
                sys.exit("fuzz_decoder: the C extension is not importable (%s); build it, "
                         "or set WSFRAME_FUZZ_PYTHON_ONLY=1 to fuzz the interpreted codec "
                         "alone" % exc)
            C = None


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_load()


class Options:
    __slots__ = ("role", "kwargs", "deflate", "splits", "stream")

    def __repr__(self):
        return "Options(role=%r, kwargs=%r, deflate=%r, splits=%r, stream=%d bytes)" % (
            self.role, self.kwargs, self.deflate, self.splits, len(self.stream))


def parse_input(data):
    """Options and stream from a fuzzer input (see the module docstring)."""
    if len(data) < HEADER_SIZE:
        data = bytes(data) + b"\x00" * (HEADER_SIZE - len(data))
    flags, limits, dfl, nsplits = data[0], data[1], data[2], data[3] % 9
    o = Options()
    o.role = "client" if flags & 0x01 else "server"
    o.kwargs = {
        "assemble": not flags & 0x02,
        "text": "bytes" if flags & 0x04 else "str",
        "allow_any_masking": bool(flags & 0x08),
        "allow_nonminimal_length": bool(flags & 0x10),
        "allow_any_close_code": bool(flags & 0x20),
        "max_message_size": MESSAGE_SIZES[limits & 0x0F],
    }
    if flags & 0x80:
        o.kwargs["max_frame_size"] = MESSAGE_SIZES[limits >> 4]
    o.deflate = None
    if flags & 0x40:
        peer = "client" if o.role == "server" else "server"
        o.deflate = {
            peer + "_no_context_takeover": bool(dfl & 1),
            peer + "_max_window_bits": 8 + ((dfl >> 1) & 7),
            "max_ratio": RATIOS[dfl >> 4],
        }
    pos = HEADER_SIZE
    cuts = []
    for _ in range(nsplits):
        if pos + 2 > len(data):
            break
        cuts.append((data[pos] << 8) | data[pos + 1])
        pos += 2
    o.stream = bytes(data[pos:])
    n = len(o.stream)
    o.splits = sorted({c % (n + 1) for c in cuts}) if n else []
    return o


def chunks(stream, splits):
    prev = 0
    for cut in splits:
        yield stream[prev:cut]
        prev = cut
    yield stream[prev:]


def event_key(event):
    """Everything observable about an event."""
    kind = type(event).__name__
    if kind == "Close":
        return (kind, int(event.opcode), event.data, event.code, event.reason)
    return (kind, int(event.opcode), event.data, event.fin, event.rsv1)


def check_error(exc, where):
    code, reason = exc.code, exc.reason
    if code not in VALID_CODES:
        raise AssertionError("%s: ProtocolError with close code %r" % (where, code))
    if not isinstance(reason, str) or len(reason.encode("utf-8")) > 123:
        raise AssertionError("%s: close reason unfit for a close frame: %r" % (where, reason))


def check_event(event, o, where):
    kw = o.kwargs
    kind = type(event).__name__
    op = int(event.opcode)
    data = event.data
    limit = kw["max_message_size"]
    if op in (8, 9, 10):
        if not isinstance(data, bytes) or len(data) > 125:
            raise AssertionError("%s: control event with payload %r" % (where, data[:20]))
        if (op == 8) != (kind == "Close"):
            raise AssertionError("%s: %s event with opcode %d" % (where, kind, op))
        return
    if op == 1 and kw["assemble"] and kw["text"] == "str":
        if not isinstance(data, str):
            raise AssertionError("%s: text message as %s" % (where, type(data).__name__))
        if len(data) > limit:  # characters <= bytes
            raise AssertionError("%s: text of %d characters over the limit" % (where, len(data)))
        return
    if not isinstance(data, bytes):
        raise AssertionError("%s: data as %s" % (where, type(data).__name__))
    if len(data) > limit:
        raise AssertionError("%s: %d bytes over the limit %d" % (where, len(data), limit))
    if kw["assemble"] and (op == 0 or not event.fin):
        raise AssertionError("%s: assembled message with opcode %d fin %r" % (where, op, event.fin))


def decode(impl, o, pieces):
    """Feed ``pieces`` to a fresh decoder; a trace of (chunk index, events) and the error."""
    extensions = []
    if o.deflate is not None:
        extensions = [deflate.PerMessageDeflate(o.role, **o.deflate)]
    decoder = impl.FrameDecoder(o.role, extensions=extensions, **o.kwargs)
    where = impl.name
    trace = []
    for i, piece in enumerate(pieces):
        try:
            events = decoder.feed(piece)
        except ProtocolError as exc:
            check_error(exc, where)
            events = getattr(exc, "events", None)
            if events is None:
                raise AssertionError("%s: ProtocolError without .events" % where)
            for e in events:
                check_event(e, o, where)
            trace.append((i, [event_key(e) for e in events]))
            # Rule 4: a failed decoder stays failed.
            try:
                decoder.feed(b"\x81\x00")
            except ProtocolError as again:
                if again.code != exc.code:
                    raise AssertionError("%s: failed with %d, then %d" % (where, exc.code, again.code))
            else:
                raise AssertionError("%s: a failed decoder accepted more input" % where)
            return trace, (i, exc.code, exc.reason)
        for e in events:
            check_event(e, o, where)
        trace.append((i, [event_key(e) for e in events]))
    return trace, None


# Open findings: name -> predicate on the two results (reproducers in fuzz/findings/).
# None open: bfinal-budget and window-too-far are fixed (fuzz/findings/README.md).
KNOWN = {}
IGNORED = [n for n in os.environ.get("WSFRAME_FUZZ_IGNORE", "").split(",") if n]
for _name in IGNORED:
    if _name not in KNOWN:
        sys.exit("WSFRAME_FUZZ_IGNORE: unknown finding %r (open: %s)"
                 % (_name, ", ".join(KNOWN) or "none"))


def flatten(trace, error, deflated):
    events = [e for _, batch in trace for e in batch]
    if deflated:
        return events, error is not None
    return events, (error[1:] if error else None)


def describe(o, a, b, label_a, label_b):
    lines = ["%s and %s disagree on %r" % (label_a, label_b, o)]
    for label, (trace, error) in ((label_a, a), (label_b, b)):
        lines.append("  %s: error %r" % (label, error))
        for i, batch in trace:
            if batch:
                lines.append("    chunk %d: %s" % (i, [_short(e) for e in batch]))
    return "\n".join(lines)


def _short(key):
    return tuple(k[:32] + (b"..." if isinstance(k, bytes) else "...")
                 if isinstance(k, (bytes, str)) and len(k) > 32 else k for k in key)


def test_one_input(data):
    o = parse_input(data)
    pieces = list(chunks(o.stream, o.splits))
    result_py = decode(PY, o, pieces)
    if C is not None:
        result_c = decode(C, o, pieces)
        if result_c != result_py:  # rule 2
            raise AssertionError(describe(o, result_c, result_py, "c", "python"))
        whole = decode(C, o, [o.stream])
        label = "c in one piece"
    else:
        whole = decode(PY, o, [o.stream])
        label = "python in one piece"
    deflated = o.deflate is not None
    if len(pieces) > 1 and flatten(*whole, deflated) != flatten(*result_py, deflated):  # rule 3
        if any(KNOWN[name](whole, result_py) for name in IGNORED):
            return
        raise AssertionError(describe(o, whole, result_py, label, "python split"))


def self_test():
    """Show that the oracle fails on drift: a decoder that returns a different reason."""
    import types

    seed = bytes([0x00, 0x00, 0x00, 0x00]) + b"\x81\x82\x00\x00\x00\x00\xff\xfe"
    test_one_input(seed)  # invalid UTF-8: both raise 1007 with the same reason

    class Drifted:
        def __init__(self, *args, **kwargs):
            self.inner = PY.FrameDecoder(*args, **kwargs)

        def feed(self, data):
            try:
                return self.inner.feed(data)
            except ProtocolError as exc:
                drifted = ProtocolError(exc.code, exc.reason + "!")
                drifted.events = exc.events
                raise drifted from None

    global C
    saved = C
    C = types.SimpleNamespace(name="drifted", FrameDecoder=Drifted)
    try:
        test_one_input(seed)
    except AssertionError as exc:
        print("self-test: drift detected as expected:\n%s" % exc)
    else:
        raise SystemExit("self-test FAILED: the oracle did not see a drifted reason")
    finally:
        C = saved
    print("self-test passed")


def main(argv):
    if "--self-test" in argv:
        self_test()
        return
    if atheris is None:
        sys.exit("fuzz_decoder: pip install atheris")
    args = list(argv)
    positional = [a for a in args[1:] if not a.startswith("-")]
    if not any(a.startswith("-artifact_prefix=") for a in args):
        artifacts = os.path.join(HERE, "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        args.append("-artifact_prefix=" + artifacts + os.sep)
    if not positional:
        # New inputs go to a scratch directory (the first one); the seeds are read only.
        import shutil
        import tempfile

        import hashlib

        # One scratch directory per checkout, emptied at each start (libFuzzer exits
        # without letting Python clean up, so a fresh directory per run would pile up);
        # keyed by this checkout's path so that runs in two worktrees do not clobber it.
        tree = hashlib.sha1(os.path.abspath(HERE).encode()).hexdigest()[:10]
        scratch = os.path.join(
            tempfile.gettempdir(), "wsframe-fuzz-scratch-%d-%s" % (os.getuid(), tree)
        )
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        args += [scratch, os.path.join(HERE, "corpus")]
        print("fuzz_decoder: new corpus entries go to %s" % scratch, flush=True)
    if not any(a.startswith("-max_len=") for a in args):
        args.append("-max_len=4096")
    if not any(a.startswith("-timeout=") for a in args):
        args.append("-timeout=10")  # a hang is a finding too
    if not any(a.startswith("-rss_limit_mb=") for a in args):
        args.append("-rss_limit_mb=2048")  # so is memory past the limits
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
