"""Several server processes on one port (SO_REUSEPORT), one per core.

The kernel spreads new connections across the workers' listening sockets.
The parent only supervises: it forwards SIGTERM/SIGINT, restarts a worker
that dies unexpectedly (at most once a second each), and exits when all
workers have exited.
"""

import logging
import os
import signal
import time

log = logging.getLogger("wsfast.server")


def default_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_workers(make_server, workers=None, on_ready=None):
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
    children = {}
    stopping = []

    def spawn():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                server = make_server(port=port)
                server.run()
                code = 0
            except BaseException:
                log.exception("worker %d failed", os.getpid())
            finally:
                os._exit(code)
        children[pid] = time.monotonic()

    def forward(signum, frame):
        stopping.append(signum)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            spawn()
        log.info("%d workers started: %s", workers, " ".join(map(str, children)))
        status = 0
        while children:
            try:
                pid, raw = os.wait()
            except ChildProcessError:
                break
            started = children.pop(pid, None)
            code = os.waitstatus_to_exitcode(raw)
            if code != 0:
                status = 1
            if not stopping and started is not None:
                log.warning("worker %d exited with %d; restarting", pid, code)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
                spawn()
        return 0 if stopping else status
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _close_listeners(server):
    for lsock in server._listeners.values():
        lsock.close()
    server._listeners.clear()
