"""Topics across servers on a real redis-server (loopback, a private
instance per test): every subscriber gets each message once and in order
per publisher when nothing fails; a killed subscriber connection and a
Redis restart are survived (reconnect, resubscribe, gap counted) while
local clients keep being served; the asyncio adapter shares the bus."""

import asyncio
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from netutil import wait_listeners
from redisutil import redis  # noqa: F401 (fixture)
from wsfast.client import connect
from wsfast.errors import InvalidResponse

APP = pathlib.Path(__file__).with_name("redis_app.py")
SLOW_MESSAGES = 640
#: Seconds Redis stays down in the restart test (WSFAST_REDIS_OUTAGE=10
#: for the long outage; the default keeps the suite short).
OUTAGE = float(os.environ.get("WSFAST_REDIS_OUTAGE", "2"))


@contextmanager
def group(url, workers):
    """redis_app.py with ``workers`` workers on ``url``; yields its port."""
    proc = subprocess.Popen([sys.executable, str(APP), url, str(workers)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        port = int(proc.stdout.readline())
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        wait_listeners(port, workers)  # every worker, or the kernel spreads clients over fewer
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def client(port):
    """A connection; retried while the workers replace the supervisor's
    probe listener (refused, or reset when the probe held it)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return connect("ws://127.0.0.1:%d/" % port, compression=False, open_timeout=5)
        except (OSError, InvalidResponse):
            assert time.monotonic() < deadline, "cannot connect to the server"
            time.sleep(0.05)


def stats(ws, earlier=None):
    """This client's worker's bus counters. Messages that arrive before
    the answer go to ``earlier`` (a list) if given, else fail the test."""
    ws.send("stats")
    while True:
        answer = ws.recv(timeout=5)
        if answer.startswith("stats "):
            return json.loads(answer[6:])
        assert earlier is not None, "unexpected message %r" % answer[:60]
        earlier.append(answer)


def wait_ready(ws, timeout=10, earlier=None, disconnects=0):
    """Until this client's worker has both Redis connections up and its
    channel subscribed (Redis confirmed it), after ``disconnects`` losses."""
    deadline = time.monotonic() + timeout
    while True:
        s = stats(ws, earlier)
        if s["ready"] and s["channels"] == 1 and s["disconnects"] >= disconnects:
            return s
        assert time.monotonic() < deadline, "the bus did not get ready: %r" % s
        time.sleep(0.05)


def test_two_groups_every_subscriber_gets_each_message_once_and_in_order(redis):
    with group(redis.url, 2) as port_a, group(redis.url, 2) as port_b:
        clients = [client(port_a) for _ in range(6)] + [client(port_b) for _ in range(6)]
        pids = {wait_ready(ws)["pid"] for ws in clients}
        # Both groups, and the two workers of at least one of them.
        assert len(pids) >= 3, "the kernel put the connections on too few workers"
        for n in range(30):
            for i, ws in enumerate(clients):
                ws.send("pub:c%d-%d" % (i, n))
        expected = {i: ["c%d-%d" % (i, n) for n in range(30)] for i in range(len(clients))}
        for ws in clients:
            got = [ws.recv(timeout=10) for _ in range(30 * len(clients))]
            per_sender = {i: [m for m in got if m.startswith("c%d-" % i)] for i in expected}
            assert per_sender == expected  # every message, once, in order per publisher
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.2)  # and nothing more
        for ws in clients:
            s = stats(ws)
            assert s["dropped"] == 0 and s["gaps"] == 0 and s["disconnects"] == 0, s
            assert s["echoes"] > 0 and s["received"] > 0, s
        for ws in clients:
            ws.close()


def _drain(ws, count, timeout=10):
    return [ws.recv(timeout=timeout) for _ in range(count)]


def test_killed_subscriber_connections_reconnect_and_resubscribe(redis):
    with group(redis.url, 1) as port_a, group(redis.url, 1) as port_b:
        a1, a2, b1 = client(port_a), client(port_a), client(port_b)
        for ws in (a1, b1):
            wait_ready(ws)
        a1.send("pub:before")
        assert [ws.recv(timeout=5) for ws in (a1, a2, b1)] == ["before"] * 3
        killed = redis.command(b"CLIENT", b"KILL", b"TYPE", b"pubsub")
        assert killed == 2  # each server's subscribing connection
        for k in range(20):  # while A and B resubscribe: A's own clients get each at once
            a1.send("pub:during-%d" % k)
        expected = ["during-%d" % k for k in range(20)]
        assert _drain(a1, 20) == expected and _drain(a2, 20) == expected
        wait_ready(b1, disconnects=1)
        wait_ready(a1, disconnects=1)
        a1.send("pub:after")
        assert a1.recv(timeout=5) == a2.recv(timeout=5) == "after"
        got_b = []
        while not got_b or got_b[-1] != "after":
            got_b.append(b1.recv(timeout=5))
        assert got_b[-1] == "after" and set(got_b[:-1]) <= set(expected)
        sa, sb = stats(a1), stats(b1)
        assert sa["disconnects"] >= 1 and sb["disconnects"] >= 1
        # What B missed from A is counted: each of A's publishes was received or is a gap.
        assert sb["received"] + sb["gaps"] == sa["published"] == 22, (sa, sb)
        assert sb["gaps"] == 20 - len(got_b[:-1])
        for ws in (a1, a2, b1):
            ws.close()


def test_a_redis_restart_is_survived_and_the_gap_counted(redis):
    with group(redis.url, 1) as port_a, group(redis.url, 1) as port_b:
        a1, a2, b1 = client(port_a), client(port_a), client(port_b)
        for ws in (a1, b1):
            wait_ready(ws)
        a1.send("pub:before")
        assert [ws.recv(timeout=5) for ws in (a1, a2, b1)] == ["before"] * 3
        redis.stop()
        down_since = time.monotonic()
        sent = 0
        while time.monotonic() - down_since < OUTAGE:  # Redis down: local clients still served
            a1.send("pub:down-%d" % sent)
            assert a1.recv(timeout=5) == a2.recv(timeout=5) == "down-%d" % sent
            sent += 1
            time.sleep(0.1)
        s = stats(a1)
        assert not s["ready"] and s["dropped"] == sent and s["disconnects"] == 2, s
        redis.start()
        wait_ready(a1)
        wait_ready(b1)
        a1.send("pub:after")
        assert a1.recv(timeout=5) == a2.recv(timeout=5) == "after"
        assert b1.recv(timeout=5) == "after"  # nothing of the outage, then the next message
        sa, sb = stats(a1), stats(b1)
        assert sb["gaps"] == sent and sb["received"] == 2, sb  # the outage, counted
        assert sa["published"] == 2 and sa["dropped"] == sent, sa
        assert sb["disconnects"] == 2 and sb["connects"] >= 4, sb
        for ws in (a1, a2, b1):
            ws.close()


def test_the_asyncio_adapter_on_the_bus(redis):
    from wsfast.asyncio import serve
    from wsfast.bus import RedisBus

    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder = {}

    async def handler(ws):
        ws.subscribe("room")
        async for message in ws:
            if message == "stats":
                bus = ws.server.bus if hasattr(ws, "server") else holder["server"].bus
                await ws.send("stats " + json.dumps(dict(
                    ready=bus.ready, channels=bus.core.redis_channels, pid=0,
                    **{n: getattr(bus.stats, n) for n in bus.stats.__slots__})))
            else:
                holder["server"].publish("room", message[4:])

    async def main():
        server = holder["server"] = await serve(handler, "127.0.0.1", 0, compression=False,
                                                bus=RedisBus(redis.url, prefix="test"))
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["stop"] = asyncio.Event()
        started.set()
        await holder["stop"].wait()
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        with group(redis.url, 1) as port_b:
            a, b = client(holder["port"]), client(port_b)
            for ws in (a, b):
                wait_ready(ws)
            a.send("pub:from-asyncio")
            assert a.recv(timeout=5) == "from-asyncio" and b.recv(timeout=5) == "from-asyncio"
            b.send("pub:from-epoll")
            assert b.recv(timeout=5) == "from-epoll" and a.recv(timeout=5) == "from-epoll"
            deadline = time.monotonic() + 5
            while (sa := stats(a))["echoes"] != 1:  # its own message back from Redis
                assert time.monotonic() < deadline, sa
                time.sleep(0.02)
            assert sa["received"] == 1 and sa["gaps"] == 0, sa
            # Its subscribing connection killed: it reconnects and resubscribes.
            assert redis.command(b"CLIENT", b"KILL", b"TYPE", b"pubsub") == 2
            wait_ready(a, disconnects=1)
            wait_ready(b, disconnects=1)
            b.send("pub:again")
            assert b.recv(timeout=5) == "again" and a.recv(timeout=5) == "again"
            sa = stats(a)
            assert sa["disconnects"] == 1 and sa["received"] == 2 and sa["gaps"] == 0, sa
            a.close()
            b.close()
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(15)


def test_a_subscriber_redis_disconnects_for_falling_behind_is_a_lost_connection(redis):
    # Redis drops a subscribing connection whose unread output passes its
    # pubsub limit: B is frozen (SIGSTOP) while A publishes past it.
    redis.command(b"CONFIG", b"SET", b"client-output-buffer-limit", b"pubsub 64kb 64kb 0")
    with group(redis.url, 1) as port_a, group(redis.url, 1) as port_b:
        a1, b1 = client(port_a), client(port_b)
        wait_ready(a1)
        b_pid = wait_ready(b1)["pid"]
        a1.send("pub:before")
        assert a1.recv(timeout=5) == b1.recv(timeout=5) == "before"
        body = "x" * 16000
        os.kill(b_pid, signal.SIGSTOP)
        try:
            # 10 MB for B's connection: past what the kernel's socket
            # buffers hold, then past Redis's 64 kB limit.
            for k in range(SLOW_MESSAGES):
                a1.send("pub:%d-%s" % (k, body))
                assert a1.recv(timeout=5).startswith("%d-" % k)  # A's own client gets each
            deadline = time.monotonic() + 10
            while redis.command(b"PUBSUB", b"NUMSUB", b"test:room")[1] != 1:
                assert time.monotonic() < deadline, "Redis kept the frozen subscriber"
                time.sleep(0.05)
        finally:
            os.kill(b_pid, signal.SIGCONT)
        got = []  # what B had taken from Redis before it was dropped
        wait_ready(b1, earlier=got, disconnects=1)
        while True:  # let b1 catch up (B skips a client whose output is over its high-water mark)
            try:
                got.append(b1.recv(timeout=0.5))
            except TimeoutError:
                break
        a1.send("pub:after")
        assert a1.recv(timeout=5) == "after"
        while not got or got[-1] != "after":
            got.append(b1.recv(timeout=5))
        sa, sb = stats(a1), stats(b1)
        assert sb["disconnects"] == 1, sb
        assert sb["gaps"] > 0 and sb["received"] + sb["gaps"] == sa["published"] == SLOW_MESSAGES + 2, (sa, sb)
        assert all(m.split("-")[0].isdigit() for m in got[:-1])  # only A's messages, then "after"
        a1.close()
        b1.close()
