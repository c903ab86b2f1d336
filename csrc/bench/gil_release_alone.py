"""The fixed cost of releasing the GIL in apply_mask / validate_utf8, alone and with a
second thread spinning: per-call wall time with the GIL released on every call against
never (through _primitives._nogil_threshold), 5 alternating rounds, medians.

    PYTHONPATH=src python csrc/bench/gil_release_alone.py
"""
import sys, threading, time, statistics

from wsframe import _primitives as P
KEY = b"\x01\x02\x03\x04"
def per_call(fn, arg, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(arg, KEY) if fn is not P.validate_utf8 else fn(arg)
    return (time.perf_counter() - t0) / reps * 1e9
def run(contended):
    stop = threading.Event(); progress = [0]
    def spinner():
        n = 0
        while not stop.is_set():
            n += 1
        progress[0] = n
    th = None
    if contended:
        th = threading.Thread(target=spinner); th.start()
    res = {}
    for size in (1024, 4096, 8192, 16384, 32768, 65536, 262144):
        data = b"a" * size
        reps = max(200, 20_000_000 // size)
        for fn in (P.apply_mask, P.validate_utf8):
            rows = {"rel": [], "hold": []}
            for r in range(5):
                for mode in ("rel", "hold"):
                    P._nogil_threshold(0 if mode == "rel" else 1 << 62)
                    p0 = progress[0]
                    rows[mode].append(per_call(fn, data, reps))
            res[(fn.__name__, size)] = {m: statistics.median(v) for m, v in rows.items()}
    stop.set()
    if th: th.join()
    P._nogil_threshold(1 << 16)
    return res
sys.setswitchinterval(0.005)
for contended in (False, True):
    res = run(contended)
    print("contended" if contended else "alone")
    for (name, size), v in res.items():
        print("  %-14s %7d  release %9.0f ns  hold %9.0f ns  release/hold %.2f" % (name, size, v["rel"], v["hold"], v["rel"] / v["hold"]))
