"""Interleaved timing: calibrated samples, shuffled rounds, medians.

A *group* is one measured situation (e.g. "mask, new buffer, 1 KiB"); its *candidates* are
the implementations compared on it. Every candidate is calibrated once, then each round
runs one sample of every candidate in a fresh random order, so a burst of noise from the
shared machine hits all of them alike; the reported figure is the median over rounds.
"""

import gc
import random
import statistics
import sys
import time

__all__ = ["Timer", "Measurement", "CLOCK"]

def _pick_clock():
    """The thread's CPU clock where it is precise (Linux: nanoseconds, read per sample):
    time spent descheduled while other processes run is not counted, so a busy shared
    machine moves the figures far less than on the wall clock. Elsewhere (Windows' thread
    clock ticks every 15.6 ms) the wall clock."""
    if sys.platform.startswith("linux") and hasattr(time, "thread_time"):
        try:
            if time.get_clock_info("thread_time").resolution <= 1e-6:
                return time.thread_time, "thread CPU time"
        except (ValueError, OSError):
            pass
    return time.perf_counter, "wall clock"


_clock, CLOCK = _pick_clock()


def _loop0(f, args, n):
    it = range(n)
    t0 = _clock()
    for _ in it:
        f()
    return _clock() - t0


def _loop1(f, args, n):
    a = args[0]
    it = range(n)
    t0 = _clock()
    for _ in it:
        f(a)
    return _clock() - t0


def _loop2(f, args, n):
    a, b = args
    it = range(n)
    t0 = _clock()
    for _ in it:
        f(a, b)
    return _clock() - t0


def _loop3(f, args, n):
    a, b, c = args
    it = range(n)
    t0 = _clock()
    for _ in it:
        f(a, b, c)
    return _clock() - t0


def _loopn(f, args, n):
    it = range(n)
    t0 = _clock()
    for _ in it:
        f(*args)
    return _clock() - t0


_LOOPS = {0: _loop0, 1: _loop1, 2: _loop2, 3: _loop3}


class Measurement(object):
    """Per-op times (seconds) of one candidate over the rounds."""

    __slots__ = ("times", "loops")

    def __init__(self, loops):
        self.times = []
        self.loops = loops

    @property
    def median(self):
        return statistics.median(self.times)

    @property
    def spread(self):
        """Median absolute deviation relative to the median (0.02 = 2 %)."""
        med = self.median
        if not self.times or med <= 0:
            return 0.0
        return statistics.median(abs(t - med) for t in self.times) / med


class Timer(object):
    """Calibrates and runs samples.

    ``sample_time``: target seconds per sample; ``rounds``: samples per candidate.
    """

    def __init__(self, sample_time=0.02, rounds=7, seed=None):
        self.sample_time = sample_time
        self.rounds = rounds
        self.rng = random.Random(seed)

    def _run(self, func, args, loops, before, gc_enabled=False):
        if before is not None:
            before()
        loop = _LOOPS.get(len(args), _loopn)
        if gc_enabled:
            return loop(func, args, loops)
        gc_was = gc.isenabled()
        gc.disable()
        try:
            return loop(func, args, loops)
        finally:
            if gc_was:
                gc.enable()

    def calibrate(self, func, args, before=None, gc_enabled=False):
        """Number of calls that makes one sample last about ``sample_time``."""
        loops = 1
        # Warm up (first call may allocate caches, fault pages in, etc.).
        self._run(func, args, 1, before, gc_enabled)
        while True:
            t = self._run(func, args, loops, before, gc_enabled)
            if t >= self.sample_time / 4 or loops >= 1 << 24:
                break
            if t <= 0:
                loops *= 10
            else:
                loops = max(loops * 2, int(loops * (self.sample_time / 4) / t * 1.2))
        if t > 0:
            loops = max(1, int(round(loops * self.sample_time / t)))
        return loops

    def measure_group(self, candidates, on_sample=None, gc_enabled=False):
        """``candidates``: list of (key, func, args, before). Returns {key: Measurement}.

        ``on_sample()`` is called after each sample (progress display). With
        ``gc_enabled`` the cyclic garbage collector runs as usual during the samples (an
        implementation that allocates many tracked objects pays for it, as it would in a
        real program); otherwise it is off during each sample, as in ``timeit``.
        """
        results = {}
        order = []
        for key, func, args, before in candidates:
            loops = self.calibrate(func, args, before, gc_enabled)
            results[key] = Measurement(loops)
            order.append((key, func, args, before))
            if on_sample is not None:
                on_sample()
        for _ in range(self.rounds):
            self.rng.shuffle(order)
            for key, func, args, before in order:
                m = results[key]
                t = self._run(func, args, m.loops, before, gc_enabled)
                m.times.append(t / m.loops)
                if on_sample is not None:
                    on_sample()
        return results
