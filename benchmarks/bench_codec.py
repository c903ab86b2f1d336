"""Codec: decoder (server role, masked frames fed in 256 KiB chunks), encoder, deflate.

Parametrized implementation ("c", "python") x size, with the peers in the same run.

    pytest benchmarks/bench_codec.py --benchmark-group-by=group

``test_decode_100k_text_32B`` is the figure of issue 2 and a bar of issue 3: 100,000
masked 32-byte text frames fed in 256 KiB chunks, messages delivered as ``str``; its
``extra_info`` has ``frames_per_s``.
"""

import pytest

from wsframe.bench import _corpora, _peers
from wsframe.bench._sections import CHUNK, _deflate_stream, size_label, text_messages

KiB = 1024
IMPLS, _MISSING = _peers.wsframe_implementations()


def _median(benchmark):
    """The median seconds per call, or None when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats is not None else None


def _params(candidates, skipped):
    out = [pytest.param(c, id=c.name) for c in candidates]
    for lib, reason in skipped:
        out.append(pytest.param(None, id=lib, marks=pytest.mark.skip(reason=reason)))
    return out


DECODE = _params(*_peers.decode_candidates(IMPLS))
ENCODE = _params(*_peers.encode_candidates(IMPLS))


def _decode_case(benchmark, cand, kind, size, count, rounds=None):
    stream, payload = _corpora.masked_stream(kind, size, count)
    chunks = _corpora.chunked(stream, CHUNK)
    func, args = cand.make(chunks, kind)
    n, last = func(*args)
    assert n == count
    assert last == (payload.decode("utf-8") if kind == "text" else payload)
    benchmark.extra_info["library"] = cand.library
    benchmark.extra_info["implementation"] = cand.implementation
    benchmark.extra_info["frames"] = count
    if rounds:
        benchmark.pedantic(func, args=args, rounds=rounds, iterations=1, warmup_rounds=1)
    else:
        benchmark(func, *args)
    med = _median(benchmark)
    if med:
        benchmark.extra_info["frames_per_s"] = count / med
        benchmark.extra_info["ns_per_frame"] = med * 1e9 / count


@pytest.mark.parametrize("cand", DECODE)
def test_decode_100k_text_32B(benchmark, cand):
    benchmark.group = "decode 100,000 x 32 B text frames (issue 2)"
    _decode_case(benchmark, cand, "text", 32, 100000, rounds=7)


@pytest.mark.parametrize("size,count", [(32, 20000), (KiB, 4096), (64 * KiB, 64)],
                         ids=["32B", "1KiB", "64KiB"])
@pytest.mark.parametrize("kind", ["text", "binary"])
@pytest.mark.parametrize("cand", DECODE)
def test_decode(benchmark, cand, kind, size, count):
    benchmark.group = "decode %s %s" % (kind, size_label(size))
    _decode_case(benchmark, cand, kind, size, count)


@pytest.mark.parametrize("size", [32, KiB, 64 * KiB], ids=size_label)
@pytest.mark.parametrize("role", ["client", "server"])
@pytest.mark.parametrize("cand", ENCODE)
def test_encode_text(benchmark, cand, role, size):
    benchmark.group = "encode %s %s" % (role, size_label(size))
    text = _corpora.corpus("french", size).decode("utf-8")
    func, args = cand.make(role, text)
    out = func(*args)
    if not isinstance(out, (bytes, bytearray)):
        out = b"".join(bytes(p) for p in out)
    (frame,) = _corpora.parse_frames(out)
    assert frame[2] == 1 and frame[3] == (role == "client")
    assert frame[4] == text.encode("utf-8")
    benchmark.extra_info["library"] = cand.library
    benchmark(func, *args)


def _deflate_params():
    try:
        _peers.resolve("wsframe.deflate", "PerMessageDeflate")
    except _peers.Skip as exc:
        skip = [pytest.param(None, id="wsframe", marks=pytest.mark.skip(reason=str(exc)))]
        return skip, skip
    return (_params(*_peers.deflate_decode_candidates(IMPLS)),
            _params(*_peers.deflate_encode_candidates(IMPLS)))


DEFLATE_DECODE, DEFLATE_ENCODE = _deflate_params()


@pytest.mark.parametrize("size,count", [(KiB, 4096), (64 * KiB, 64)], ids=["1KiB", "64KiB"])
@pytest.mark.parametrize("cand", DEFLATE_DECODE)
def test_deflate_decode(benchmark, cand, size, count):
    benchmark.group = "deflate decode %s" % size_label(size)
    messages = text_messages(size, count)
    chunks = _corpora.chunked(_deflate_stream(messages), CHUNK)
    func, args = cand.make(chunks)
    n, last = func(*args)
    assert n == count and last == messages[-1]
    benchmark(func, *args)
    med = _median(benchmark)
    if med:
        benchmark.extra_info["messages_per_s"] = count / med


@pytest.mark.parametrize("size", [KiB, 16 * KiB, 64 * KiB], ids=size_label)
@pytest.mark.parametrize("cand", DEFLATE_ENCODE)
def test_deflate_encode(benchmark, cand, size):
    benchmark.group = "deflate encode client %s" % size_label(size)
    text = text_messages(size, 1)[0]
    try:
        func, args = cand.make(text)
    except _peers.Skip as exc:
        pytest.skip(str(exc))
    benchmark(func, *args)
