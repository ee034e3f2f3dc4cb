"""Readiness polling: ``select.epoll`` on Linux, ``selectors`` elsewhere.

Both expose the same tiny API, so the loop never asks which it has.
Level-triggered: a connection is watched for reading while it may read and
for writing only while it has output queued.
"""

import select
import selectors

READ = 1
WRITE = 4

if hasattr(select, "epoll"):
    # EPOLLIN == 1 and EPOLLOUT == 4 on Linux, so the masks pass through.
    _ERR = select.EPOLLERR | select.EPOLLHUP

    class Poller:
        name = "epoll"

        def __init__(self):
            self._ep = select.epoll()

        def register(self, fd, mask):
            self._ep.register(fd, mask)

        def modify(self, fd, mask):
            self._ep.modify(fd, mask)

        def unregister(self, fd):
            try:
                self._ep.unregister(fd)
            except (OSError, ValueError):
                pass  # already closed

        def poll(self, timeout):
            """[(fd, mask)], where errors and hang-ups count as readable
            (the next read reports them)."""
            events = self._ep.poll(timeout, 1024)
            return [(fd, (ev | READ) if ev & _ERR else ev) for fd, ev in events]

        def close(self):
            self._ep.close()

else:  # pragma: no cover - exercised on non-Linux systems

    class Poller:
        name = "selectors"

        def __init__(self):
            self._sel = selectors.DefaultSelector()

        @staticmethod
        def _events(mask):
            return (selectors.EVENT_READ if mask & READ else 0) | (
                selectors.EVENT_WRITE if mask & WRITE else 0)

        def register(self, fd, mask):
            self._sel.register(fd, self._events(mask) or selectors.EVENT_READ)

        def modify(self, fd, mask):
            events = self._events(mask)
            if events:
                self._sel.modify(fd, events)
            else:  # selectors cannot watch nothing: watch reads, ignore them
                self._sel.modify(fd, selectors.EVENT_READ, "paused")

        def unregister(self, fd):
            try:
                self._sel.unregister(fd)
            except (KeyError, ValueError):
                pass

        def poll(self, timeout):
            out = []
            for key, ev in self._sel.select(None if timeout < 0 else timeout):
                mask = (READ if ev & selectors.EVENT_READ and key.data != "paused" else 0) | (
                    WRITE if ev & selectors.EVENT_WRITE else 0)
                if mask:
                    out.append((key.fd, mask))
            return out

        def close(self):
            self._sel.close()
