"""Processes: start them, read their memory and descriptors from /proc,
and stop them (only the ones we started, by PID)."""

import os
import signal
import subprocess
import sys
import time

# benchmarks/servers.py imports its sibling common.py by name.
BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if BENCHMARKS not in sys.path:
    sys.path.append(BENCHMARKS)

from benchmarks.servers import raise_nofile  # noqa: E402,F401  (one copy, shared)

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss(pid):
    """Resident set size of one process in bytes (None if it is gone)."""
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def cpu_split(pid):
    """(user, system) CPU time of one process, in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, ValueError, IndexError):
        return None


def cpu_seconds(pid):
    """User + system CPU time of one process, in seconds."""
    split = cpu_split(pid)
    return None if split is None else split[0] + split[1]


def cpu_total(pids):
    """Summed (user, system) CPU seconds of the processes still alive."""
    user = system = 0.0
    for pid in pids:
        split = cpu_split(pid)
        if split is not None:
            user += split[0]
            system += split[1]
    return user, system


def snapshot(pids):
    """{pid: (rss bytes, open descriptors)} and the RSS total."""
    per = {pid: (rss(pid), fd_count(pid)) for pid in pids}
    total = sum(r for r, _ in per.values() if r)
    return per, total


def python_cmd(module, *args):
    return [sys.executable, "-m", module, *map(str, args)]


def start(cmd, cwd, **kw):
    return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, **kw)


def stop(procs, timeout=10.0):
    """SIGTERM each process we started, then SIGKILL what is left. The
    processes were started in their own sessions, so their own children
    (server workers) are signalled through the process group, whose id is
    the PID we started."""
    procs = [p for p in procs if p is not None]
    for p in procs:
        if p.poll() is None:
            _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        _signal_group(p.pid, signal.SIGKILL)  # workers that outlived the parent
        if p.poll() is None:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
