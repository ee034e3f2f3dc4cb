"""kill -9 of a worker and of the supervisor of ``wsfast echo --workers 2``."""

import re
import select
import signal
import socket
import subprocess
import sys
import time

from hostile import (OP_TEXT, Measure, RawWS, alive, descendants, frame)

LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)")


class Workers:
    """``python -m wsfast echo --workers 2 --port 0``; the port comes from
    its log line."""

    def __init__(self, workers=2):
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "wsfast", "echo", "--workers", str(workers), "--port", "0",
             "--ping-interval", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.pid = self.popen.pid
        self.port = None
        deadline = time.monotonic() + 20
        while self.port is None and time.monotonic() < deadline:
            r, _, _ = select.select([self.popen.stderr], [], [], 1)
            if r:
                line = self.popen.stderr.readline()
                if not line:
                    break
                found = LISTENING.search(line)
                if found:
                    self.port = int(found.group(1))
        assert self.port, "wsfast echo did not report its port"
        self.workers = self.wait_workers(workers)
        self.known = set(self.workers)

    def wait_workers(self, n, exclude=(), timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = [p for p in descendants(self.pid)[1:] if alive(p) and p not in exclude]
            if len(kids) >= n:
                return kids
            time.sleep(0.05)
        raise AssertionError("%d workers did not start" % n)

    def url(self, path="/"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def kill_all(self):
        """Cleanup: the supervisor and every worker it ever had, by PID."""
        for pid in [self.pid, *self.known]:
            try:
                import os
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.popen.stderr.close()


def _echo_ok(ws, text="still there?"):
    try:
        ws.send(frame(OP_TEXT, text.encode()))
        f = ws.read_frame(timeout=2)
        return f[2] == OP_TEXT and f[3] == text.encode()
    except (OSError, EOFError):
        return False


def _owner(workers, ws):
    """The worker holding the server side of ``ws`` (by socket inode)."""
    import os
    local_port = ws.sock.getsockname()[1]
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if int(parts[2].split(":")[1], 16) == local_port:
                inodes.add(parts[9])
    for pid in workers:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in {"socket:[%s]" % i for i in inodes}:
                    return pid
            except OSError:
                pass
    return None


def test_kill_worker(cleanup):
    """kill -9 of one worker: it is restarted, and the other worker's
    clients keep being served (the good client reconnects if it was on the
    killed one)."""
    ws_ = Workers(2)
    cleanup.append(ws_.kill_all)
    with Measure("kill -9 of a worker", ws_, probe=False) as m:
        conns = [RawWS(ws_.port) for _ in range(12)]
        owners = [_owner(ws_.workers, c) for c in conns]
        victim = owners[0]
        import os
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        new = ws_.wait_workers(2, exclude=(victim,), timeout=8)
        restarted_s = time.monotonic() - t0
        ws_.known.update(new)
        survivors = [c for c, o in zip(conns, owners) if o != victim]
        served = sum(_echo_ok(c) for c in survivors)
        fresh = [RawWS(ws_.port) for _ in range(10)]
        fresh_ok = sum(_echo_ok(c) for c in fresh)
        for c in conns + fresh:
            c.close()
    m.report(restart_s=round(restarted_s, 2), survivors_served="%d/%d" % (served, len(survivors)),
             new_connections_served="%d/%d" % (fresh_ok, len(fresh)))
    assert len(survivors) and served == len(survivors)
    assert fresh_ok == len(fresh)
    assert restarted_s < 5


def test_kill_supervisor(cleanup):
    """kill -9 of the supervisor: the workers must exit, closing their
    clients with 1001, and the port must be free. These clients never
    answer the close frame, so a worker waits out its shutdown_timeout
    (5 s) before it drops them and exits: allow that plus a margin."""
    ws_ = Workers(2)
    cleanup.append(ws_.kill_all)
    with Measure("kill -9 of the supervisor", ws_, probe=False, fd_target=0) as m:
        conns = [RawWS(ws_.port) for _ in range(8)]
        workers = list(ws_.workers)
        ws_.popen.send_signal(signal.SIGKILL)
        ws_.popen.wait(5)
        t0 = time.monotonic()
        while any(alive(p) for p in workers) and time.monotonic() - t0 < 9:
            time.sleep(0.05)
        left = [p for p in workers if alive(p)]
        exit_s = time.monotonic() - t0
        codes = []
        for c in conns:
            frames = c.read_until_eof(timeout=0.2 if left else 3)
            close = [f for f in frames if f is not None and f[2] == 8]
            codes.append(int.from_bytes(close[0][3][:2], "big") if close else None)
            c.close()
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", ws_.port))
            probe.listen()
            port_free = True
        except OSError:
            port_free = False
        finally:
            probe.close()
    m.report(workers_left=len(left), exit_s=round(exit_s, 2), close_codes=codes, port_free=port_free)
    assert not left, "workers %s still running %.1f s after the supervisor died" % (left, exit_s)
    assert codes == [1001] * len(conns)
    assert port_free
