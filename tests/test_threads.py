"""Hostile threads: shared objects, buffers resized under a running call, random
interleavings (issue 13). The process must survive, every exception must be one the API
documents (BufferError for a resize under an export, RuntimeError for a second thread
inside a stateful object, ProtocolError for the garbage a lost chunk leaves), and every
delivered ``str`` must be valid text.

Each scenario runs in a fresh subprocess (this file run as a script), so a crash is a
failing test, not a dead test run; each is bounded in time (SECONDS of work, a timeout).
Buffers are >= 64 KiB so the C paths release the GIL, with a tiny switch interval so the
interpreted paths switch threads often too.
"""

import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest

SECONDS = 1.5
CHILD_TIMEOUT = 90
KEY = b"\x9a\x1c\x52\xe7"
ALLOWED = ("BufferError", "RuntimeError", "ProtocolError")


# -- scenarios (child) -----------------------------------------------------------------


def _run_threads(workers, seconds):
    """Run each worker(stop, counts) in its own thread for ``seconds``; the counts of
    what happened, by outcome name. An exception not in ALLOWED fails the run."""
    stop = threading.Event()
    counts = {}
    errors = []

    def body(work):
        try:
            work(stop, counts)
        except BaseException as exc:  # reported, not swallowed
            errors.append("%s: %s" % (type(exc).__name__, exc))
            stop.set()

    threads = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(30)
        if t.is_alive():
            errors.append("a thread did not finish within 30 s")
    if errors:
        raise AssertionError("; ".join(errors))
    return counts


def _count(counts, name):
    counts[name] = counts.get(name, 0) + 1


def _allowed(counts, exc):
    name = type(exc).__name__
    if name not in ALLOWED:
        raise exc
    _count(counts, name)


def _masked_frame(impl, opcode, payload, fin=True):
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    if n < 126:
        head += bytes((0x80 | n,))
    elif n < 65536:
        head += bytes((0x80 | 126,)) + n.to_bytes(2, "big")
    else:
        head += bytes((0x80 | 127,)) + n.to_bytes(8, "big")
    return head + KEY + impl.apply_mask(payload, KEY)


def scenario_mask_resize(impl, seconds):
    """Issue 13, crash 2: bytearrays masked, validated and copied by some threads while
    another clears and refills them (32 MiB in the report; 4 MiB here)."""
    size = 4 << 20
    shared = [bytearray(size), bytearray(b"a" * size)]
    src = bytes(size)

    def masker(stop, counts):
        ops = [
            lambda ba: impl.apply_mask_inplace(ba, KEY),
            lambda ba: impl.apply_mask_inplace(memoryview(ba), KEY, 3),
            lambda ba: impl.apply_mask_into(ba, src[: len(ba)], KEY),
            lambda ba: impl.apply_mask(ba, KEY),
            lambda ba: impl.validate_utf8(ba),
            lambda ba: impl.Utf8Validator().feed(ba),
        ]
        rng = random.Random(threading.get_ident())
        while not stop.is_set():
            try:
                rng.choice(ops)(rng.choice(shared))
                _count(counts, "ok")
            except (BufferError, RuntimeError) as exc:
                _allowed(counts, exc)
            except ValueError as exc:  # apply_mask_into: dst shrank below src
                if "destination holds" not in str(exc):
                    raise
                _count(counts, "ValueError")

    def resizer(stop, counts):
        rng = random.Random(7)
        while not stop.is_set():
            ba = rng.choice(shared)
            try:
                if rng.random() < 0.5:
                    ba.clear()
                    ba.extend(bytes(size))
                else:
                    del ba[size // 2 :]
                    ba += b"a" * (size - len(ba))
                _count(counts, "resized")
            except BufferError as exc:
                _allowed(counts, exc)
            time.sleep(0)

    return _run_threads([masker, masker, resizer], seconds)


def scenario_validator_shared(impl, seconds):
    """Issue 13, crash 3: one Utf8Validator fed from two threads (a torn state smashed
    the stack); a third thread resets it now and then."""
    validator = impl.Utf8Validator()
    big = b"a" * 65536 + b"\xc2"
    pieces = [b"\xf0", b"\x90", b"\x80", b"\x80" + b"z" * 3000]

    def feeder(chunks):
        def work(stop, counts):
            while not stop.is_set():
                for chunk in chunks:
                    try:
                        result = validator.feed(chunk)
                        assert result in (True, False), result
                        _count(counts, "fed")
                    except RuntimeError as exc:
                        _allowed(counts, exc)
        return work

    def resetter(stop, counts):
        while not stop.is_set():
            try:
                validator.reset()
                _count(counts, "reset")
            except RuntimeError as exc:
                _allowed(counts, exc)
            time.sleep(0.001)

    counts = _run_threads([feeder([big]), feeder(pieces), resetter], seconds)
    # Still a working validator afterwards.
    validator.reset()
    assert validator.feed("déjà vu 😀".encode()) and validator.complete
    assert not validator.feed(b"\xc0")
    return counts


def _text_frames(impl, text, fragment):
    """A text message masked as a client sends it, fragmented every ``fragment`` bytes."""
    data = text.encode()
    frames = []
    for start in range(0, len(data), fragment):
        chunk = data[start : start + fragment]
        frames.append(
            _masked_frame(impl, 0x1 if start == 0 else 0x0, chunk, start + fragment >= len(data))
        )
    return b"".join(frames)


def scenario_decoder_shared(impl, seconds):
    """Issue 13, finding 4: one FrameDecoder fed by three threads (unvalidated bytes
    reached the transcoder). Every delivered str must be valid and one of those sent."""
    texts = ["é" * 300000 + "x", "日本" * 100000, "a" * 200000 + "😀", "ascii only " * 9000]
    wires = [_text_frames(impl, t, 65536 + 7) for t in texts]
    wires += [_masked_frame(impl, 0x1, t.encode()) for t in texts]
    sent = set(texts)
    box = [impl.FrameDecoder("server", max_message_size=1 << 24)]

    def feeder(stop, counts):
        rng = random.Random(threading.get_ident())
        while not stop.is_set():
            wire = rng.choice(wires)
            cut = rng.randrange(len(wire))
            decoder = box[0]
            try:
                events = decoder.feed(wire[:cut]) + decoder.feed(memoryview(wire)[cut:])
            except Exception as exc:
                _allowed(counts, exc)
                box[0] = impl.FrameDecoder("server", max_message_size=1 << 24)
                continue
            for event in events:
                if isinstance(event.data, str):
                    event.data.encode("utf-8")  # strict: no lone surrogate, no garbage
                    assert event.data in sent, "a delivered text was never sent"
                _count(counts, "delivered")

    return _run_threads([feeder, feeder, feeder], seconds)


def scenario_encoder_shared(impl, seconds):
    """One FrameEncoder with permessage-deflate (its compressor) used by three threads:
    RuntimeError for the colliding calls; each frame produced decodes to its message."""
    from wsframe.deflate import PerMessageDeflate

    encoder = impl.FrameEncoder(
        "client", extensions=[PerMessageDeflate("client", client_no_context_takeover=True)]
    )
    messages = [os.urandom(100) * 1000, "ü" * 70000, b"z" * 300000]

    def user(stop, counts):
        rng = random.Random(threading.get_ident())
        while not stop.is_set():
            message = rng.choice(messages)
            try:
                if isinstance(message, str):
                    frame = encoder.text(message)
                else:
                    frame = encoder.binary(message)
            except RuntimeError as exc:
                _allowed(counts, exc)
                continue
            decoder = impl.FrameDecoder(
                "server",
                max_message_size=1 << 24,
                extensions=[PerMessageDeflate("server", client_no_context_takeover=True)],
            )
            (event,) = decoder.feed(frame)
            assert event.data == message, "an encoded frame decoded to something else"
            _count(counts, "encoded")

    return _run_threads([user, user, user], seconds)


def scenario_random_mix(impl, seconds):
    """Random interleavings of everything above on shared objects, random sizes (some
    >= 64 KiB), from four threads."""
    rng0 = random.Random(12345)
    pool = [bytearray(rng0.choice((100, 70000, 300000))) for _ in range(4)]
    validator = impl.Utf8Validator()
    decoder = [impl.FrameDecoder("server", max_message_size=1 << 24)]
    encoder = impl.FrameEncoder("client")
    text = ("ok é 日 😀 " * 20000).encode()

    def op_mask(rng, counts):
        impl.apply_mask_inplace(rng.choice(pool), KEY, rng.randrange(4))

    def op_resize(rng, counts):
        ba = rng.choice(pool)
        ba[:] = bytes(rng.choice((0, 10, 70000, 300000)))

    def op_validate(rng, counts):
        cut = rng.randrange(len(text))
        validator.feed(text[:cut] if rng.random() < 0.5 else memoryview(text)[cut:])
        if rng.random() < 0.1:
            validator.reset()

    def op_decode(rng, counts):
        frame = _masked_frame(impl, 0x1, text[: rng.choice((10, 70000, len(text)))])
        try:
            for event in decoder[0].feed(frame):
                event.data.encode("utf-8")
        except Exception as exc:
            if type(exc).__name__ != "ProtocolError":
                raise
            decoder[0] = impl.FrameDecoder("server", max_message_size=1 << 24)
            _count(counts, "ProtocolError")

    def op_encode(rng, counts):
        encoder.binary(rng.choice(pool))

    ops = [op_mask, op_resize, op_validate, op_decode, op_encode]

    def worker(stop, counts):
        rng = random.Random(threading.get_ident())
        while not stop.is_set():
            try:
                rng.choice(ops)(rng, counts)
                _count(counts, "ok")
            except (BufferError, RuntimeError) as exc:
                _allowed(counts, exc)

    return _run_threads([worker] * 4, seconds)


# -- the busy flag, deterministically: re-entering from an extension callback -------------


class _Reenter:
    """A compression extension whose callbacks call back into the codec object."""

    rsv_bits = 0x40

    def __init__(self, call):
        self.call = call
        self.seen = []

    def should_compress(self, size):
        return True

    def deflate(self, data, fin):
        self.call()
        return data

    def inflate(self, data, fin, max_out):
        try:
            self.call()
        except Exception as exc:  # the decoder would turn it into a 1007
            self.seen.append(exc)
        return data


def test_encoder_busy(impl):
    ext = _Reenter(lambda: encoder.text("inner"))
    encoder = impl.FrameEncoder("server", extensions=[ext])
    with pytest.raises(RuntimeError, match="FrameEncoder used from two threads at once"):
        encoder.text("outer")
    # nothing stays busy after the error
    ext.call = lambda: None
    assert encoder.binary(b"ok") == b"\xc2\x02ok"


def test_decoder_busy(impl):
    ext = _Reenter(lambda: decoder.feed(b""))
    decoder = impl.FrameDecoder("server", extensions=[ext])
    (event,) = decoder.feed(_masked_frame(impl, 0x2, b"abc").replace(b"\x82", b"\xc2", 1))
    assert event.data == b"abc"
    assert [type(e) for e in ext.seen] == [RuntimeError]
    assert "FrameDecoder used from two threads at once" in str(ext.seen[0])
    assert decoder.feed(_masked_frame(impl, 0x2, b"next"))[0].data == b"next"


def _collide(first, second, seconds=5.0):
    """Run ``first`` in a loop in a thread while the main thread runs ``second`` until it
    raises RuntimeError (True) or ``seconds`` pass (False)."""
    stop = threading.Event()
    errors = []

    def loop():
        while not stop.is_set():
            try:
                first()
            except RuntimeError:
                pass
            except BaseException as exc:
                errors.append(exc)
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    thread = threading.Thread(target=loop)
    thread.start()
    deadline = time.monotonic() + seconds
    seen = False
    try:
        while not seen and time.monotonic() < deadline:
            try:
                second()
            except RuntimeError as exc:
                assert "used from two threads at once" in str(exc)
                seen = True
    finally:
        stop.set()
        thread.join(30)
        sys.setswitchinterval(old)
    assert not errors, errors
    return seen


def test_validator_busy(impl):
    validator = impl.Utf8Validator()
    big = b"a" * (8 << 20)
    assert _collide(lambda: validator.feed(big), lambda: validator.feed(b"x"))
    validator.reset()
    assert validator.feed("ok ✓".encode()) and validator.complete


def test_deflate_contexts_busy(impl):
    from wsframe.deflate import PerMessageDeflate

    pmd = PerMessageDeflate("server")
    big = os.urandom(1 << 16) * 64
    assert _collide(lambda: pmd.deflate(big, False), lambda: pmd.deflate(b"x", False))
    # the two directions are independent: inflating while another thread deflates is fine
    peer = PerMessageDeflate("client")
    data = peer.deflate(b"hello" * 1000, True)
    assert pmd.inflate(data, True, None) == b"hello" * 1000


SCENARIOS = {
    name[len("scenario_") :]: fn for name, fn in globals().items() if name.startswith("scenario_")
}


def child(scenario, impl_name, seconds):
    from wsframe import _impl

    sys.setswitchinterval(1e-5)  # interpreted code switches threads often too
    impl = _impl.load(impl_name)
    counts = SCENARIOS[scenario](impl, seconds)
    print(json.dumps(counts, sort_keys=True))


# -- the tests (parent) ----------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_threads_survive(impl, scenario):
    import wsframe

    src = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("WSFRAME_NO_EXTENSIONS", None)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), scenario, impl.name, str(SECONDS)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env,
    )
    assert proc.returncode == 0, "exit %d\n%s" % (proc.returncode, proc.stderr[-3000:])
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    print("%s %s: %s" % (impl.name, scenario, counts))
    # Work was done: the scenario did not just fail fast and pass.
    assert sum(v for k, v in counts.items() if k not in ALLOWED) > 0, counts


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], float(sys.argv[3]))
