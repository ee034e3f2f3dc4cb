"""The workers' bus when a worker is slow to read: what its queue cannot
take waits in the sender's backlog, in order, and nothing is dropped
until the backlog passes BUS_BACKLOG bytes; interest is never lost."""

import pytest

from wsfast.server import fanout

pytestmark = pytest.mark.skipif(not fanout.AVAILABLE, reason="the workers' bus needs Linux")


class FakeServer:
    """What a WorkerBus asks of its Server: timers it can run by hand, a
    local delivery, and the topics this worker holds."""

    class _Topics:
        def __init__(self):
            self.held = []

        def topics(self):
            return list(self.held)

    def __init__(self):
        self.timers = []
        self.delivered = []
        self._topics = self._Topics()

    def call_later(self, delay, callback, *args):
        self.timers.append((callback, args))

    def run_timers(self):
        timers, self.timers = self.timers, []
        for callback, args in timers:
            callback(*args)
        return len(timers)

    def _publish_local(self, topic, data):
        self.delivered.append((topic, data))


@pytest.fixture
def pair():
    group = fanout.new_group()
    a, b = fanout.WorkerBus(group, 0, 2), fanout.WorkerBus(group, 1, 2)
    sa, sb = FakeServer(), FakeServer()
    a.start(sa)
    b.start(sb)
    for _ in range(3):  # the HELLOs and their answers
        sa.run_timers()
        sb.run_timers()
        a.on_readable()
        b.on_readable()
    yield a, sa, b, sb
    a.close()
    b.close()


def _pass(bus, server, topic, body):
    """One loop pass of the publishing worker: a publish, then the pass's end."""
    assert bus.publish(topic, body) == 1
    server.run_timers()


def test_a_full_worker_queue_keeps_every_publish_in_order(pair):
    a, sa, b, sb = pair
    b.interest("room", True)
    sb.run_timers()
    a.on_readable()
    assert a.workers_interested("room") == 1
    # b reads nothing: far more datagrams than its queue holds (often 10).
    for n in range(200):
        _pass(a, sa, "room", "m%d" % n)
    assert a.stats.dropped == 0
    assert a._backlog_size[1] > 0, "the test did not fill b's queue"
    # b catches up while a's retries run, as two loops would.
    for _ in range(1000):
        b.on_readable()
        if not sa.run_timers() and not a._backlog[1]:
            break
    b.on_readable()
    assert [d for _, d in sb.delivered] == ["m%d" % n for n in range(200)]
    assert a.stats.sent == 200 and a.stats.dropped == 0 and b.stats.gaps == 0


def test_past_the_backlog_publishes_are_dropped_and_counted_but_interest_is_not(pair, monkeypatch):
    a, sa, b, sb = pair
    monkeypatch.setattr(fanout, "BUS_BACKLOG", 4096)
    b.interest("room", True)
    sb.run_timers()
    a.on_readable()
    body = "x" * 500
    for n in range(100):
        _pass(a, sa, "room", body)
    assert a.stats.dropped > 0
    assert a._backlog_size[1] <= 4096
    # Meanwhile a's worker gains a topic; its interest record meets a full
    # backlog and is dropped with the publishes around it.
    a.interest("news", True)
    sa.run_timers()
    assert b.workers_interested("news") == 0
    for _ in range(1000):
        b.on_readable()
        if not sa.run_timers() and not a._backlog[1]:
            break
    b.on_readable()
    assert len(sb.delivered) == a.stats.sent and a.stats.sent + a.stats.dropped == 100
    _pass(a, sa, "room", "after")  # the next one that arrives shows the gap
    b.on_readable()
    assert sb.delivered[-1] == ("room", "after")
    assert b.stats.gaps == a.stats.dropped  # the receiver counts what it missed
    assert b.workers_interested("news") == 1  # the owed interest arrived


def test_a_worker_that_is_gone_drops_what_waits_and_its_hello_resets(pair):
    a, sa, b, sb = pair
    b.interest("room", True)
    sb.run_timers()
    a.on_readable()
    for n in range(50):
        _pass(a, sa, "room", "m%d" % n)
    waiting = a._backlog_size[1]
    assert waiting > 0
    b.close()  # the worker died: its address is free
    sa.run_timers()
    assert not a._backlog[1] and a.stats.dropped > 0
    assert a.stats.sent + a.stats.dropped == 50
