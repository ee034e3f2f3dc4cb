"""The Redis bus's limits on a real redis-server, with an epoll server in
a thread of the test: channels are released after the grace period, and
a Redis that stops reading (SIGSTOP) never blocks the publishing loop:
past ``max_redis_output`` publishes are dropped and counted while local
clients are served."""

import os
import signal
import threading
import time

import pytest

from redisutil import redis  # noqa: F401 (fixture)
from wsfast.client import connect


@pytest.fixture
def bus_server(redis):
    """An epoll server on the bus, in a thread; every connection
    subscribes to 'room'; 'pub:X' publishes X there."""
    from wsfast.bus import RedisBus
    from wsfast.server import Server

    made = []

    def make(**settings):
        server = Server("127.0.0.1", 0, compression=False, ping_interval=None,
                        bus=RedisBus(redis.url, prefix="lim", **settings))
        server.on("open", lambda ws: ws.subscribe("room"))
        server.on("message", lambda ws, m: server.publish("room", m[4:]))
        server.listen()
        thread = threading.Thread(target=server.run, kwargs={"install_signal_handlers": False}, daemon=True)
        thread.start()
        made.append((server, thread))
        deadline = time.monotonic() + 10
        while server.bus is None or not server.bus.ready:
            assert time.monotonic() < deadline, "the bus did not connect"
            time.sleep(0.02)
        return server

    yield make
    for server, thread in made:
        server.shutdown()
        thread.join(10)


def numsub(redis):
    return redis.command(b"PUBSUB", b"NUMSUB", b"lim:room")[1]


def wait_numsub(redis, count, timeout=20):
    deadline = time.monotonic() + timeout
    while numsub(redis) != count:
        assert time.monotonic() < deadline, "NUMSUB stayed %d, not %d" % (numsub(redis), count)
        time.sleep(0.02)


def test_the_channel_is_released_after_the_grace_period(redis, bus_server):
    server = bus_server(unsubscribe_grace=2.0)  # long enough for a loaded machine's pauses
    url = "ws://127.0.0.1:%d/" % server.port
    ws = connect(url, compression=False)
    wait_numsub(redis, 1)
    ws.close()
    time.sleep(0.2)
    assert numsub(redis) == 1  # well within the grace: still held
    again = connect(url, compression=False)  # back within it: nothing to redo
    time.sleep(0.5)
    assert numsub(redis) == 1
    again.close()
    closed = time.monotonic()
    wait_numsub(redis, 0)
    assert time.monotonic() - closed >= 1.9  # not before the grace ended


def test_a_stalled_redis_never_blocks_the_loop_and_drops_are_counted(redis, bus_server):
    server = bus_server(max_redis_output=64 * 1024)
    ws = connect("ws://127.0.0.1:%d/" % server.port, compression=False)
    wait_numsub(redis, 1)
    body = "y" * 8000
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        for k in range(2000):  # 16 MB toward a Redis that reads nothing
            ws.send("pub:%d-%s" % (k, body))
            assert ws.recv(timeout=5).startswith("%d-" % k)  # served locally, at once
        elapsed = time.monotonic() - start
        stats = server.bus.stats
        assert stats.dropped > 0 and stats.published + stats.dropped == 2000, stats
        assert stats.disconnects == 0 and server.bus.ready  # the bound dropped them, not a loss
        assert len(server.bus.core.pending(server.bus.core.pub)) <= 64 * 1024
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    assert elapsed < 30
    ws.close()


def test_sharded_pubsub_on_a_real_redis(redis, bus_server):
    if redis.command(b"COMMAND", b"INFO", b"SPUBLISH") == [None]:
        pytest.skip("this redis-server has no sharded Pub/Sub (Redis 7+)")
    a, b = bus_server(sharded=True), bus_server(sharded=True)
    wa = connect("ws://127.0.0.1:%d/" % a.port, compression=False)
    wb = connect("ws://127.0.0.1:%d/" % b.port, compression=False)
    deadline = time.monotonic() + 5
    while redis.command(b"PUBSUB", b"SHARDNUMSUB", b"lim:room")[1] != 2:
        assert time.monotonic() < deadline, "the servers did not subscribe"
        time.sleep(0.02)
    wa.send("pub:across")
    assert wa.recv(timeout=5) == wb.recv(timeout=5) == "across"
    deadline = time.monotonic() + 5
    while a.bus.stats.echoes != 1:  # A's own message comes back from Redis after its client had it
        assert time.monotonic() < deadline, a.bus.stats
        time.sleep(0.02)
    assert b.bus.stats.received == 1 and a.bus.stats.received == 0
    wa.close()
    wb.close()
