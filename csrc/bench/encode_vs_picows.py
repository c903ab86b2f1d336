"""FrameEncoder.text against picows' WSTransport.send, side by side in one process.

    PYTHONPATH=src ROUNDS=7 SIZE=32 python csrc/bench/encode_vs_picows.py

picows writes through a transport whose ``write`` is a bound ``list.append`` (a C call:
the cheapest write there is, so picows is not charged for a Python-level transport);
wsframe returns the frame. Both are called from the same kind of Python wrapper. Per-call
thread CPU time over N calls, ROUNDS alternating rounds; medians, and the spread of the
ratio wsframe/picows.
"""
import asyncio
import logging
import os
import socket
import statistics
import time

import picows

from wsframe import _impl

N = 200_000
ROUNDS = int(os.environ.get("ROUNDS", "7"))
SIZE = int(os.environ.get("SIZE", "32"))


class _Transport:
    def __init__(self, sock):
        self.parts = []
        self.write = self.parts.append
        self._sock = sock

    def writelines(self, datas):
        self.parts.extend(datas)

    def is_closing(self):
        return False

    def get_write_buffer_size(self):
        return 1  # never 0: picows would then send() on the socket itself

    def get_extra_info(self, name, default=None):
        return self._sock if name == "socket" else default

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def per_call(op, n=N):
    clock = time.thread_time
    t0 = clock()
    for _ in range(n):
        op()
    return (clock() - t0) / n * 1e9


def main():
    codec = _impl.load("c")
    loop = asyncio.new_event_loop()
    sock = socket.socket()
    text = "x" * SIZE
    try:
        for role in ("server", "client"):
            transport = _Transport(sock)
            ws = picows.WSTransport(role == "client", transport, logging.getLogger("p"), loop)

            def pico(send=ws.send, kind=picows.WSMsgType.TEXT, text=text, parts=transport.parts):
                send(kind, text)
                if len(parts) > 1000:
                    del parts[:]

            def wsframe(encode=codec.FrameEncoder(role).text, text=text):
                encode(text)

            times = {"wsframe": [], "picows": []}
            for _ in range(ROUNDS):
                times["wsframe"].append(per_call(wsframe))
                times["picows"].append(per_call(pico))
            ratios = [a / b for a, b in zip(times["wsframe"], times["picows"])]
            print("%s, %d B (%s): wsframe %.1f ns, picows %.1f ns per frame; wsframe/picows "
                  "median %.3f (min %.3f, max %.3f), %d rounds of %d calls" % (
                      role, SIZE, "masked" if role == "client" else "unmasked",
                      statistics.median(times["wsframe"]), statistics.median(times["picows"]),
                      statistics.median(ratios), min(ratios), max(ratios), ROUNDS, N))
    finally:
        sock.close()
        loop.close()
    print("load average: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
