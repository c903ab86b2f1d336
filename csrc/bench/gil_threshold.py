"""Where releasing the GIL pays in apply_mask (NOGIL_THRESHOLD of _primitives.pyx).

    PYTHONPATH=src ROUNDS=9 python csrc/bench/gil_threshold.py 32768 65536 262144 1048576

For each size: the masking thread's wall time per call and a second (pure-Python) thread's
loop iterations per second, with the GIL released on every call vs never (set through
_primitives._nogil_threshold); ROUNDS alternating rounds of 0.4 s, medians. Wall time:
run it on an otherwise idle machine with two free cores, or the figures are noise.
"""
import statistics
import sys
import threading
import time

from wsframe import _primitives as P  # noqa: E402
KEY = b"\x01\x02\x03\x04"
def round_(size, mode, seconds=0.4):
    P._nogil_threshold(0 if mode == "release" else 1 << 62)
    data = b"a" * size
    stop = threading.Event(); count = [0]
    def spinner():
        n = 0
        while not stop.is_set():
            n += 1
        count[0] = n
    th = threading.Thread(target=spinner); th.start()
    calls = 0; t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        P.apply_mask(data, KEY); calls += 1
    el = time.perf_counter() - t0
    stop.set(); th.join()
    return el / calls * 1e9, count[0] / el
for size in [int(a) for a in sys.argv[1:]]:
    r = {"release": [], "hold": []}
    for _ in range(int(__import__("os").environ.get("ROUNDS", "5"))):
        for mode in ("release", "hold"):
            r[mode].append(round_(size, mode))
    m = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in r.items()}
    print("%8d B: release %9.0f ns/call, other thread %6.2f M it/s | hold %9.0f ns/call, other %6.2f M it/s"
          % (size, m["release"][0], m["release"][1] / 1e6, m["hold"][0], m["hold"][1] / 1e6))
P._nogil_threshold(1 << 16)
