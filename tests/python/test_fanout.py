"""Topics across the workers of run_workers: a publish in any worker
reaches the subscribers of every worker, exactly once and in order per
publisher when nothing fails; a restarted worker rejoins."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from netutil import wait_listeners
from wsfast.client import connect
from wsfast.errors import InvalidResponse
from wsfast.server import fanout

pytestmark = pytest.mark.skipif(not fanout.AVAILABLE, reason="the workers' bus needs Linux")

APP = pathlib.Path(__file__).with_name("fanout_app.py")


@pytest.fixture
def workers():
    """Starts fanout_app.py with 4 workers; yields its port."""
    proc = subprocess.Popen([sys.executable, str(APP), "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        port = int(proc.stdout.readline())
        deadline = time.monotonic() + 20
        while True:  # the workers listen a moment after the port is known
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the workers did not start"
                time.sleep(0.05)
        wait_listeners(port, 4)  # and the others too
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _subscriber(port, topic="room"):
    ws = connect("ws://127.0.0.1:%d/" % port, compression=False, open_timeout=5)
    ws.send("sub:" + topic)
    answer = ws.recv(timeout=5)
    assert answer.startswith("ok ")
    return ws, int(answer.split()[1])


def _wait_for_interest(ws, subscriber_pids, topic="room"):
    """Until the worker behind ``ws`` knows every other subscriber's worker
    wants ``topic`` (interest crosses the bus as datagrams, a moment after
    the subscribe); returns that worker's pid."""
    deadline = time.monotonic() + 20
    while True:
        ws.send("peers:" + topic)
        _, pid, known = ws.recv(timeout=5).split()
        if int(known) == len(set(subscriber_pids) - {int(pid)}):
            return int(pid)
        assert time.monotonic() < deadline, "interest did not reach worker %s" % pid
        time.sleep(0.02)


def test_a_publish_in_any_worker_reaches_every_subscriber_once_and_in_order(workers):
    subs = [_subscriber(workers) for _ in range(16)]
    pids = {pid for _, pid in subs}
    assert len(pids) >= 2, "the kernel put every connection on one worker"
    publishers = [connect("ws://127.0.0.1:%d/" % workers, compression=False) for _ in range(4)]
    for p in publishers:
        _wait_for_interest(p, pids)
    for n in range(25):
        for i, p in enumerate(publishers):
            p.send("pub:room:p%d-%d" % (i, n))
    expected = {i: ["p%d-%d" % (i, n) for n in range(25)] for i in range(4)}
    for ws, pid in subs:
        got = [ws.recv(timeout=10) for _ in range(100)]
        per_publisher = {i: [m for m in got if m.startswith("p%d-" % i)] for i in range(4)}
        assert per_publisher == expected, pid  # all of them, each once, in order
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)  # and nothing more
    for ws, _ in subs:
        ws.send("stats")
        sent, received, dropped, gaps = map(int, ws.recv(timeout=5).split()[1:])
        assert dropped == 0 and gaps == 0
    for ws in publishers + [ws for ws, _ in subs]:
        ws.close()


def test_a_restarted_worker_rejoins_the_bus(workers):
    subs = [_subscriber(workers) for _ in range(12)]
    victim = subs[0][1]
    os.kill(victim, signal.SIGKILL)
    survivors = [(ws, pid) for ws, pid in subs if pid != victim]
    assert survivors
    # Connect until one lands on the restarted worker (a new pid).
    known = {pid for _, pid in subs}
    deadline = time.monotonic() + 15
    fresh = None
    while fresh is None:
        assert time.monotonic() < deadline, "no connection reached the restarted worker"
        try:
            ws, pid = _subscriber(workers)
        except (OSError, TimeoutError, InvalidResponse):
            # Accepted by the dying worker, or refused while it restarts.
            time.sleep(0.1)
            continue
        if pid in known:
            ws.close()
        else:
            fresh = (ws, pid)
    _wait_for_interest(fresh[0], [pid for _, pid in survivors] + [fresh[1]])
    _wait_for_interest(survivors[0][0], [pid for _, pid in survivors] + [fresh[1]])
    # A survivor's worker publishes: the new worker's subscriber gets it,
    # and the new worker's publishes reach the survivors.
    survivors[0][0].send("pub:room:from an old worker")
    assert fresh[0].recv(timeout=5) == "from an old worker"
    fresh[0].send("pub:room:from the new worker")
    for ws, _ in survivors:
        got = ws.recv(timeout=5)
        if got == "from an old worker":
            got = ws.recv(timeout=5)
        assert got == "from the new worker"
    for ws, _ in survivors + [fresh]:
        ws.close()
