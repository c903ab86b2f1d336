"""Primitives: masking (new buffer, in place) and UTF-8 validation.

Parametrized implementation x CPU path x size, with the peers and the references
(``bytearray(data)`` for memory bandwidth, ``bytes.decode`` for UTF-8) in the same run;
compare within a group (``--benchmark-group-by=group``).

    pytest benchmarks/bench_primitives.py --benchmark-group-by=group
"""

import pytest

from wsframe.bench import _corpora, _peers
from wsframe.bench._sections import KEY, size_label

KiB = 1024
MiB = 1024 * 1024
MASK_SIZES = [2, 16, 128, KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 16 * MiB]
UTF8_SIZES = [KiB, 16 * KiB, 256 * KiB, MiB]

IMPLS, _MISSING = _peers.wsframe_implementations()


def _median(benchmark):
    """The median seconds per call, or None when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats is not None else None


def _params(candidates, skipped):
    """Candidates as pytest params; skipped peers as skipped params showing the reason."""
    out = [pytest.param(c, id=c.name) for c in candidates]
    for lib, reason in skipped:
        out.append(pytest.param(None, id=lib, marks=pytest.mark.skip(reason=reason)))
    return out


def _data(size, seed):
    import random

    rng = random.Random(seed * 1000003 + size)
    block = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
    return (block * (size // len(block) + 1))[:size]


def _run(benchmark, cand, func, args, nbytes):
    if cand.before is not None:
        cand.before()
    benchmark.extra_info["library"] = cand.library
    benchmark.extra_info["implementation"] = cand.implementation
    benchmark.extra_info["path"] = cand.path
    benchmark(func, *args)
    med = _median(benchmark)
    if med:
        benchmark.extra_info["bytes_per_s"] = nbytes / med


MASK_NEW = _params(*_peers.mask_candidates(IMPLS))
MASK_INPLACE = _params(*_peers.mask_inplace_candidates(IMPLS))
UTF8 = _params(*_peers.utf8_candidates(IMPLS))


@pytest.mark.parametrize("size", MASK_SIZES, ids=size_label)
@pytest.mark.parametrize("cand", MASK_NEW)
def test_mask_new_buffer(benchmark, cand, size):
    benchmark.group = "mask new buffer %s" % size_label(size)
    data = _data(size, 1)
    func, args = cand.make(data, KEY)
    if cand.kind != "reference":
        if cand.before is not None:
            cand.before()
        assert bytes(func(*args)) == _corpora.xor_mask(data, KEY)
    _run(benchmark, cand, func, args, size)


@pytest.mark.parametrize("size", MASK_SIZES, ids=size_label)
@pytest.mark.parametrize("cand", MASK_INPLACE)
def test_mask_in_place(benchmark, cand, size):
    benchmark.group = "mask in place %s" % size_label(size)
    data = _data(size, 2)
    buf = bytearray(data)
    func, args = cand.make(buf, KEY)
    if cand.kind != "reference":
        if cand.before is not None:
            cand.before()
        func(*args)
        assert buf == _corpora.xor_mask(data, KEY)
    _run(benchmark, cand, func, args, size)


@pytest.mark.parametrize("size", UTF8_SIZES, ids=size_label)
@pytest.mark.parametrize("corpus", _corpora.CORPORA)
@pytest.mark.parametrize("cand", UTF8)
def test_utf8(benchmark, cand, corpus, size):
    benchmark.group = "utf8 %s %s" % (corpus, size_label(size))
    data = _corpora.corpus(corpus, size)
    func, args = cand.make(data)
    if cand.before is not None:
        cand.before()
    assert func(*args)
    _run(benchmark, cand, func, args, size)


# Around the size where the C primitives release the GIL (NOGIL_THRESHOLD in
# _primitives.pyx, 64 KiB): the step between the last size below it and the first at it
# is the cost of releasing and re-taking the GIL, to weigh against the work.
GIL_SIZES = [16 * KiB, 32 * KiB, 64 * KiB - 4, 64 * KiB, 128 * KiB]


@pytest.mark.parametrize("size", GIL_SIZES, ids=str)
@pytest.mark.parametrize("prim", ["apply_mask", "apply_mask_inplace", "validate_utf8"])
def test_gil_threshold(benchmark, prim, size):
    impl = IMPLS.get("c")
    if impl is None:
        pytest.skip("the C implementation is not built: %s" % _MISSING.get("c"))
    benchmark.group = "gil threshold %s" % prim
    func = getattr(impl.prims, prim)
    if prim == "validate_utf8":
        args = (_corpora.corpus("ascii", size),)
    elif prim == "apply_mask":
        args = (_data(size, 3), KEY)
    else:
        args = (bytearray(_data(size, 3)), KEY)
    benchmark(func, *args)
    med = _median(benchmark)
    if med:
        benchmark.extra_info["ns_per_byte"] = med * 1e9 / size
