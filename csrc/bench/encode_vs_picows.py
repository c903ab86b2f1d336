"""FrameEncoder.text at 32 B against picows' WSTransport.send, side by side in one process.

    PYTHONPATH=src ROUNDS=11 python csrc/bench/encode_vs_picows.py

Both through wsframe.bench._peers' encode candidates (the same ops the bench runs):
per-call thread CPU time over N calls, ROUNDS alternating rounds, medians and the spread
(min-max) of the ratio wsframe/picows per role.
"""
import os
import statistics
import sys
import time

from wsframe import _impl
from wsframe.bench import _peers

N = 200_000
ROUNDS = int(os.environ.get("ROUNDS", "11"))
SIZE = int(os.environ.get("SIZE", "32"))


def per_call(op, args, n=N):
    clock = time.thread_time
    t0 = clock()
    for _ in range(n):
        op(*args)
    return (clock() - t0) / n * 1e9


def main():
    impls = {"c": _impl.load("c")}
    impls["c"].codec = impls["c"].codec
    cands, skipped = _peers.encode_candidates(impls)
    by_name = {c.name: c for c in cands}
    ws = next(c for c in cands if c.name == "wsframe c")
    pico = next((c for c in cands if c.name.startswith("picows")), None)
    if pico is None:
        sys.exit("picows is not installed: %s" % skipped)
    text = "x" * SIZE
    for role in ("server", "client"):
        ops = {"wsframe": ws.make(role, text), "picows": pico.make(role, text)}
        times = {k: [] for k in ops}
        ratios = []
        for _ in range(ROUNDS):
            r = {}
            for name, (op, args) in ops.items():
                r[name] = per_call(op, args)
                times[name].append(r[name])
            ratios.append(r["wsframe"] / r["picows"])
        print("%s (%s): wsframe %.1f ns, picows %.1f ns per frame; ratio median %.3f "
              "(min %.3f, max %.3f), %d rounds of %d" % (
                  role, "masked" if role == "client" else "unmasked",
                  statistics.median(times["wsframe"]), statistics.median(times["picows"]),
                  statistics.median(ratios), min(ratios), max(ratios), ROUNDS, N))
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    del by_name


if __name__ == "__main__":
    main()
