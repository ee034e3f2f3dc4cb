"""Several server processes on one port (SO_REUSEPORT), one per core.

The kernel spreads new connections across the workers' listening sockets.
The parent only supervises: it forwards SIGTERM/SIGINT, restarts a worker
that dies unexpectedly (at most once a second each), and exits when all
workers have exited.

A worker never outlives its supervisor: if the supervisor dies without
stopping them (SIGKILL, a crash), each worker shuts down gracefully, as on
SIGTERM (clients get 1001), instead of serving the port forever as an
orphan that nothing supervises or restarts. On Linux the kernel sends the
worker SIGTERM when its parent dies (PR_SET_PDEATHSIG); elsewhere, and as
a backstop, the worker checks its parent every PARENT_CHECK_INTERVAL seconds.
"""

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from . import fanout

if TYPE_CHECKING:
    from .server import Server

log = logging.getLogger("wsfast.server")

#: Seconds between a worker's checks that its supervisor is still alive.
PARENT_CHECK_INTERVAL = 1.0
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_workers(make_server: Callable[..., "Server"], workers: int | None = None,
                on_ready: Callable[["Server"], object] | None = None) -> int:
    """Run ``make_server(port=None)`` in ``workers`` processes; it must
    return a ``Server`` created with ``reuse_port=True`` (``port`` overrides
    its port, so that an ephemeral port is shared). With one worker it runs
    in this process. Returns the exit status (0 after a clean shutdown)."""
    workers = workers or default_workers()
    if workers == 1:
        server = make_server()
        server.listen()
        if on_ready:
            on_ready(server)
        server.run()
        return 0
    probe = make_server()
    if not probe.reuse_port:
        raise ValueError("workers > 1 needs servers created with reuse_port=True")
    probe.listen()  # binds first, so an ephemeral port is shared by all
    port = probe.port
    if on_ready:
        on_ready(probe)
    _close_listeners(probe)
    children: dict[int, tuple[float, int]] = {}  # pid -> (start time, worker index)
    stopping: list[int] = []
    supervisor = os.getpid()
    group = fanout.new_group() if fanout.AVAILABLE else None

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent(signal.SIGTERM)
                if os.getppid() != supervisor:  # it died before we asked
                    os._exit(0)
                server = make_server(port=port)
                # A publish reaches every worker's subscribers: through the
                # AF_UNIX bus, or, with a Redis bus, through Redis alone
                # (each worker its own connections and origin id, so Redis
                # hands every worker each message once; both buses would
                # deliver it twice).
                if group is not None and server._bus_config is None:
                    server.attach_bus(fanout.WorkerBus(group, index, workers))
                _watch_parent(server, supervisor)
                server.run()
                code = 0
            except BaseException:
                log.exception("worker %d failed", os.getpid())
            finally:
                os._exit(code)
        children[pid] = (time.monotonic(), index)

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(workers):
            spawn(index)
        log.info("%d workers started: %s", workers, " ".join(map(str, children)))
        status = 0
        while children:
            try:
                pid, raw = os.wait()
            except ChildProcessError:
                break
            child = children.pop(pid, None)
            code = os.waitstatus_to_exitcode(raw)
            if code != 0:
                status = 1
            if not stopping and child is not None:
                started, index = child
                log.warning("worker %d exited with %d; restarting", pid, code)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
                spawn(index)  # the same place on the bus
        return 0 if stopping else status
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _die_with_parent(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent
    dies (Linux). False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        ok: bool = libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
        return ok
    except (OSError, AttributeError):
        return False


def _watch_parent(server: "Server", parent: int) -> None:
    """Shut ``server`` down gracefully once ``parent`` is no longer this
    process's parent (it died: we were reparented)."""

    def check() -> None:
        if os.getppid() != parent:
            log.warning("worker %d: supervisor %d is gone; shutting down", os.getpid(), parent)
            server._begin_shutdown()
        else:
            server.call_later(PARENT_CHECK_INTERVAL, check)

    server.call_later(PARENT_CHECK_INTERVAL, check)


def _close_listeners(server: "Server") -> None:
    for lsock in server._listeners.values():
        lsock.close()
    server._listeners.clear()
