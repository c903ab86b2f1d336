"""Exponential backoff with full jitter, for ``connect(..., reconnect=True)``."""

from __future__ import annotations

import asyncio
import random as _random
from typing import Awaitable, Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays between reconnection attempts: attempt ``n`` (from 0) waits a uniformly random
    time in ``[0, min(maximum, initial * factor ** n)]`` ("full jitter", which spreads a
    crowd of clients that lost the same server instead of making them return together).

    ``random`` (returns a float in [0, 1)) and ``sleep`` (an ``async`` function of a number
    of seconds) can be replaced, e.g. in tests::

        >>> b = Backoff(initial=1.0, factor=2.0, maximum=10.0, random=lambda: 0.5)
        >>> [b.delay(n) for n in range(5)]
        [0.5, 1.0, 2.0, 4.0, 5.0]
    """

    __slots__ = ("initial", "factor", "maximum", "random", "sleep")

    def __init__(
        self,
        initial: float = 1.0,
        factor: float = 2.0,
        maximum: float = 60.0,
        *,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not initial > 0:
            raise ValueError("initial must be a positive number of seconds, not %r" % (initial,))
        if not factor >= 1:
            raise ValueError("factor must be a number >= 1, not %r" % (factor,))
        if not maximum >= initial:
            raise ValueError("maximum (%r) must be >= initial (%r)" % (maximum, initial))
        self.initial = float(initial)
        self.factor = float(factor)
        self.maximum = float(maximum)
        self.random = random
        self.sleep = sleep

    def cap(self, attempt: int) -> float:
        """The largest delay of attempt ``attempt`` (0 for the first retry)."""
        # min() before the power could overflow: past the maximum nothing grows.
        cap = self.initial
        for _ in range(attempt):
            cap *= self.factor
            if cap >= self.maximum:
                return self.maximum
        return min(cap, self.maximum)

    def delay(self, attempt: int) -> float:
        """A random delay for attempt ``attempt``, in ``[0, cap(attempt)]``."""
        return self.random() * self.cap(attempt)

    async def wait(self, attempt: int) -> float:
        """Sleep the delay of ``attempt``; return it."""
        delay = self.delay(attempt)
        await self.sleep(delay)
        return delay

    def __repr__(self) -> str:
        return "Backoff(initial=%r, factor=%r, maximum=%r)" % (
            self.initial,
            self.factor,
            self.maximum,
        )
