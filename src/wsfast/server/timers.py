"""A heap of timers for the server loop: no thread or task per connection.

Per-connection deadlines (handshake, close) are swept by one periodic
timer each, so a hundred thousand connections cost a hundred thousand
dictionary entries, not heap entries.
"""

import heapq
import itertools
import time


class Timer:
    __slots__ = ("when", "callback", "args", "cancelled")

    def __init__(self, when, callback, args):
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Timers:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._heap = []
        self._seq = itertools.count()

    def call_later(self, delay, callback, *args):
        timer = Timer(self.clock() + delay, callback, args)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        return timer

    def timeout(self, default):
        """Seconds until the next timer (at most ``default``)."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if not heap:
            return default
        return min(default, max(0.0, heap[0][0] - self.clock()))

    def run_due(self):
        """Run the timers that are due; returns how many ran."""
        heap, now, ran = self._heap, self.clock(), 0
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                ran += 1
                timer.callback(*timer.args)
        return ran

    def __len__(self):
        return sum(1 for _, _, t in self._heap if not t.cancelled)
