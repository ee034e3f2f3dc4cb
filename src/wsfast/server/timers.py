"""A heap of timers for the server loop: no thread or task per connection.

Per-connection deadlines (handshake, close) are swept by one periodic
timer each, so a hundred thousand connections cost a hundred thousand
dictionary entries, not heap entries.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import heapq
import itertools
import platform
import time
from collections.abc import Callable
from typing import Any


class Timer:
    __slots__ = ("when", "callback", "args", "cancelled")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        #: When the earliest timer is due (inf if none): the loop compares
        #: its clock reading with this instead of asking the heap.
        self.next_due = float("inf")

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        timer = Timer(self.clock() + delay, callback, args)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        if timer.when < self.next_due:
            self.next_due = timer.when
        return timer

    def run_due(self, now: float | None = None) -> int:
        """Run the timers that are due; returns how many ran."""
        heap, ran = self._heap, 0
        if now is None:
            now = self.clock()
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                ran += 1
                timer.callback(*timer.args)
        self.next_due = heap[0][0] if heap else float("inf")
        return ran

    def __len__(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)


def _malloc_trim() -> Callable[[int], int] | None:
    # glibc only: other C libraries have no malloc_trim (or return memory already).
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Give the free heap back to the system (glibc's malloc_trim); False
    where that is not available. Freed memory otherwise stays with malloc,
    so the process keeps the size of its peak."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
