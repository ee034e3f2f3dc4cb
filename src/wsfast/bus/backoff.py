"""Reconnect delays: exponential, bounded, jittered."""

import random
from typing import Callable


class Backoff:
    """``next_delay()`` after each failure; ``reset()`` after a success.
    Delay n (from 0) is ``min(maximum, minimum * 2**n)``, then scaled by a
    random factor in [0.5, 1): never more than the bound, never all
    servers at the same instant."""

    __slots__ = ("minimum", "maximum", "failures", "_random")

    def __init__(self, minimum: float, maximum: float,
                 rng: Callable[[], float] = random.random) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff bounds need 0 < backoff_min <= backoff_max")
        self.minimum, self.maximum = minimum, maximum
        self.failures = 0
        self._random = rng

    def ceiling(self) -> float:
        """The next delay before jitter."""
        return min(self.maximum, self.minimum * 2.0 ** min(self.failures, 60))

    def next_delay(self) -> float:
        delay = self.ceiling() * (0.5 + 0.5 * self._random())
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
