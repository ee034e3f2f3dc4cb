"""The server's event loop: poll, run the connections' I/O, flush what
handlers sent to other connections, run due timers. Compiled with the
extension (see loop_c.pxd), as its per-pass overhead is paid per message.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import limits
from .websocket import run_io, step_share

if TYPE_CHECKING:
    from .server import Server


def run(server: Server) -> None:
    """Run ``server``'s loop until it stops (``server._stopped``)."""
    poller, conns, listeners = server._poller, server._conns, server._listeners
    buf, view, timers = server._buf, server._view, server._timers
    # The same lists for the server's lifetime: the pass reads no server
    # attribute for them (each such read costs about 200 instructions).
    backlog, dirty = server._backlog, server._dirty
    life = server._life
    wakeup_fd = server._wakeup[0].fileno()  # type: ignore[index]  # set by listen()
    poll, monotonic = poller.poll, time.monotonic
    now = monotonic()
    due = timers.next_due  # read once per pass, after the handlers ran
    # Frames per pass, shared by the connections it reads or steps.
    budget, high = server._pass_step_frames, server._max_step_frames
    low = limits.MIN_STEP_FRAMES if limits.MIN_STEP_FRAMES < high else high
    if server._stopped:
        return
    while True:  # only the pass's end stops the loop (Server._stop)
        # One clock reading per pass; timers may run up to one pass late.
        if dirty or backlog:
            timeout = 0.0
        else:
            timeout = due - now
            if timeout > 1.0:
                timeout = 1.0
            elif timeout < 0.0:
                timeout = 0.0
        events = poll(timeout)
        if events:
            others = run_io(events, conns, buf, view, budget, low, high)
            if others is not None:
                for fd in others:
                    if fd == wakeup_fd:
                        server._on_wakeup()
                    else:
                        lsock = listeners.get(fd)
                        if lsock is not None:
                            life.accept(lsock)
                        else:
                            server._on_fd(fd)  # the workers' bus
        if backlog:
            # Connections whose last read held more than one step: one
            # step each per pass, after everyone else's I/O (fairness).
            held = backlog[:]
            del backlog[:]
            step = step_share(budget, len(held), low, high)
            for ws in held:
                ws.conn.max_step_frames = step
                ws._next_step()
        if dirty:
            flushing = dirty[:]
            del dirty[:]  # sends from the flushes below wait for the next pass
            for ws in flushing:
                if ws._dirty:
                    ws._flush()
        now = monotonic()
        due = timers.next_due
        if now >= due:
            timers.run_due(now)
            due = timers.next_due
        if server._closing and (not conns or now >= server._shutdown_deadline):  # type: ignore[operator]
            server._stop()
            return
