"""Per-call cost of 32-byte decode/encode/validate in one tree, for before/after ratios.

    for r in 1 2 3 4 5; do for t in OLD_TREE NEW_TREE; do
        echo "$t $(python csrc/bench/busy_cost.py $t)"; done; done

Each run prints a dict of ns per call (thread CPU time, best of 3 loops of 300,000);
alternate the two trees' processes and compare medians (docs/hardening.md).
"""
import os, sys, time
sys.path.insert(0, sys.argv[1] + "/src")
from wsframe import _impl
C = _impl.load(os.environ.get("IMPL", "c"))
KEY = b"\x01\x02\x03\x04"
payload = b"x" * 32
frame = b"\x82\xa0" + KEY + C.apply_mask(payload, KEY)
tframe = b"\x81\xa0" + KEY + C.apply_mask(payload, KEY)
dec = C.FrameDecoder("server"); feed = dec.feed
es = C.FrameEncoder("server"); ec = C.FrameEncoder("client")
v = C.Utf8Validator()
N = int(os.environ.get("N", "300000"))
def t(f, a):
    clock = time.thread_time; t0 = clock()
    for _ in range(N): f(a)
    return (clock() - t0) / N * 1e9
out = {}
for name, f, a in (("feed 32B binary", feed, frame), ("feed 32B text", feed, tframe),
                   ("server binary 32B", es.binary, payload), ("client binary 32B", ec.binary, payload),
                   ("Utf8Validator.feed 32B", v.feed, payload)):
    out[name] = min(t(f, a) for _ in range(3))
print(repr(out))
