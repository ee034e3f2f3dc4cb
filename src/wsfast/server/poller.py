"""Readiness polling: ``select.epoll`` on Linux, ``selectors`` elsewhere.

Both expose the same tiny API, so the loop never asks which it has.
Level-triggered: a connection is watched for reading while it may read and
for writing only while it has output queued. ``WSFAST_POLLER=selectors``
forces the portable one (tests use it to cover non-Linux systems).
"""

import os
import select
import selectors
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._twins import optional_extension

if TYPE_CHECKING:
    from ._syscalls import EpollWaiter as _EpollWaiter

# None when not built or WSFAST_NO_EXTENSIONS: select.epoll's own poll().
_syscalls = optional_extension("wsfast.server._syscalls")
EpollWaiter: "type[_EpollWaiter] | None" = None if _syscalls is None else _syscalls.EpollWaiter

READ = 1  # EPOLLIN
WRITE = 4  # EPOLLOUT
#: What counts as "try reading" in a poll result: errors and hang-ups are
#: reported by the next recv (EPOLLIN | EPOLLERR | EPOLLHUP).
READABLE = READ | 8 | 16


class EpollPoller:
    name = "epoll"

    def __init__(self) -> None:
        self._ep = select.epoll()
        # Bound methods, looked up once: poll() is called every iteration.
        self.register = self._ep.register
        self.modify = self._ep.modify
        #: [(fd, mask)]; test masks with READABLE and WRITE.
        self.poll: Callable[[float], list[tuple[int, int]]] = self._ep.poll
        if EpollWaiter is not None:  # the same call, with less work per call
            self._waiter = EpollWaiter(self._ep.fileno())
            self.poll = self._waiter.poll

    def unregister(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass  # already closed

    def close(self) -> None:
        self._ep.close()


class SelectorsPoller:
    name = "selectors"

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()

    @staticmethod
    def _events(mask: int) -> int:
        return (selectors.EVENT_READ if mask & READ else 0) | (
            selectors.EVENT_WRITE if mask & WRITE else 0)

    def register(self, fd: int, mask: int) -> None:
        events = self._events(mask)
        self._sel.register(fd, events or selectors.EVENT_READ, None if events else "paused")

    def modify(self, fd: int, mask: int) -> None:
        events = self._events(mask)
        if events:
            self._sel.modify(fd, events)
        else:  # selectors cannot watch nothing: watch reads, ignore them
            self._sel.modify(fd, selectors.EVENT_READ, "paused")

    def unregister(self, fd: int) -> None:
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        out = []
        for key, ev in self._sel.select(None if timeout < 0 else timeout):
            mask = (READ if ev & selectors.EVENT_READ and key.data != "paused" else 0) | (
                WRITE if ev & selectors.EVENT_WRITE else 0)
            if mask:
                out.append((key.fd, mask))
        return out

    def close(self) -> None:
        self._sel.close()


def Poller() -> EpollPoller | SelectorsPoller:
    if hasattr(select, "epoll") and os.environ.get("WSFAST_POLLER") != "selectors":
        return EpollPoller()
    return SelectorsPoller()
