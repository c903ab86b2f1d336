"""Each library's own receive and send path, without and with wsframe.integrations.

    PYTHONPATH=src python -m pytest benchmarks/bench_integrations.py --benchmark-only \
        --benchmark-group-by=param:case

One benchmark per library x path (receive, send) x size (32 B, 1 KiB, 64 KiB) x
acceleration (off, on); compare the two rows of a group. The cases are
``wsframe.integrations.bench_cases()`` (the same that ``python -m wsframe bench`` runs);
libraries that are not installed are absent. Each call handles ``case.batch`` messages, so
divide a row's time by the batch shown in its ``extra_info`` for the time per message.
"""

import pytest

import wsframe.integrations as wi

CASES = wi.bench_cases()


@pytest.mark.parametrize("accelerated", [False, True], ids=["library", "wsframe"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_integration(benchmark, case, accelerated):
    with case.accelerated(accelerated):
        fn = case.prepare()
        fn()
        benchmark.extra_info.update(
            library=case.library,
            path=case.path,
            size=case.size,
            batch=case.batch,
            accelerated=accelerated,
        )
        benchmark(fn)
