"""A/B of each integrations bench case on the thread's CPU time, for a busy machine.

``python -m wsframe bench --only integrations`` times wall-clock medians; on a machine
shared with other work (2 cores, load average 4) that moves results at 32 B and 1 KiB by
15 % or more between runs. This times the same cases (``wsframe.integrations
.bench_cases()``) on ``time.thread_time()``, which other processes do not inflate:
per sample the best of 9 runs of 30 ms, 10 samples alternating without/with, median.

    python benchmarks/ab_integrations_cpu.py [CASE-NAME-PREFIX ...]
    python scripts/bench_library_fallbacks.py ...  # (see that script for the fallbacks)
    WSFRAME_AB_FALLBACKS=1 python benchmarks/ab_integrations_cpu.py   # the same here
"""

import os
import statistics
import sys
import time
import warnings

if os.environ.get("WSFRAME_AB_FALLBACKS"):
    for _blocked in ("websockets.speedups", "tornado.speedups", "wsaccel"):
        sys.modules[_blocked] = None
    os.environ["AIOHTTP_NO_EXTENSIONS"] = "1"
    os.environ["AUTOBAHN_USE_NVX"] = "0"

import wsframe.integrations as wi  # noqa: E402


def best(case, on, reps=9, run_for=0.03):
    """Best thread CPU seconds per message over ``reps`` runs of ``run_for`` each."""
    return case.time(on, min_time=reps * run_for, repeat=reps, clock=time.thread_time)


def main(prefixes):
    warnings.simplefilter("ignore")
    print("wsframe %s, mask %s; %s" % (
        wsframe_impl(), wi_paths(), "fallbacks" if os.environ.get("WSFRAME_AB_FALLBACKS") else "as installed"))
    for case in wi.bench_cases():
        if prefixes and not any(case.name.startswith(p) for p in prefixes):
            continue
        res = {False: [], True: []}
        for r in range(10):
            for on in (False, True) if r % 2 == 0 else (True, False):
                res[on].append(best(case, on))
        a, b = statistics.median(res[False]), statistics.median(res[True])
        print("%-30s without %9.3f us  with %9.3f us  x%.2f" % (case.name, a * 1e6, b * 1e6, a / b),
              flush=True)


def wsframe_impl():
    import wsframe

    return wsframe.implementation


def wi_paths():
    import wsframe

    return wsframe.cpu_paths().get("mask")


if __name__ == "__main__":
    main(sys.argv[1:])
