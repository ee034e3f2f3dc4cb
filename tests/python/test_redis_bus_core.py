"""The Redis bus's sans-I/O core with a fake clock and no Redis:
commands it writes, replies it reads (fed as Redis would send them),
envelopes, echoes, gaps, the unsubscribe grace, reconnect backoff,
the output bound."""

import pytest

hiredis = pytest.importorskip("hiredis")

from wsfast.bus import BusError, RedisBus, envelope  # noqa: E402
from wsfast.bus.core import CONNECTING, DOWN, UP, RedisBusCore  # noqa: E402
from wsfast.bus.resp import command  # noqa: E402

ME, OTHER, THIRD = b"me______", b"other___", b"third___"


def parse_all(raw):
    """Every RESP value in ``raw`` (commands are arrays of bulk strings)."""
    reader = hiredis.Reader()
    reader.feed(bytes(raw))
    out = []
    while (value := reader.gets()) is not False:
        out.append(value)
    return out


def push(*items):
    """A Pub/Sub push as Redis encodes it (an array; integers as such)."""
    parts = [b"*%d\r\n" % len(items)]
    for item in items:
        parts.append(b":%d\r\n" % item if isinstance(item, int) else b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(parts)


def up_core(now=0.0, **settings):
    """A core whose two links are connected; returns (core, errors)."""
    errors = []
    config = RedisBus("redis://127.0.0.1:1/0", prefix="app", on_error=errors.append, **settings)
    core = RedisBusCore(config, ME, now, rng=lambda: 0.0)
    links = core.due_connects(now)
    assert links == [core.pub, core.sub] and all(link.state == CONNECTING for link in links)
    for link in links:
        core.connected(link, now)
    return core, errors


def take(core, link):
    out = parse_all(core.pending(link))
    core.consumed(link, len(core.pending(link)))
    return out


def message(topic, origin, seq, data):
    return push(b"message", b"app:" + topic.encode(), envelope.pack(origin, seq, data))


def test_command_encoding_is_resp_that_hiredis_reads_back():
    raw = command(b"PUBLISH", b"app:room", b"\x00\r\nbinary")
    assert raw == b"*3\r\n$7\r\nPUBLISH\r\n$8\r\napp:room\r\n$9\r\n\x00\r\nbinary\r\n"
    assert parse_all(raw) == [[b"PUBLISH", b"app:room", b"\x00\r\nbinary"]]


def test_envelope_round_trip_and_refusals():
    assert envelope.unpack(envelope.pack(ME, 7, "héllo")) == (ME, 7, "héllo")
    assert envelope.unpack(envelope.pack(ME, 2**63, b"\xff\x00")) == (ME, 2**63, b"\xff\x00")
    for bad in (b"", b"W1short", b"XX" + bytes(20)):
        with pytest.raises(envelope.EnvelopeError):
            envelope.unpack(bad)
    text_not_utf8 = envelope.pack(ME, 1, "x")[:-1] + b"\xff"
    with pytest.raises(envelope.EnvelopeError):
        envelope.unpack(text_not_utf8)


def test_first_subscriber_subscribes_and_publish_writes_an_envelope():
    core, _ = up_core()
    core.interest("room", True, 0.0)
    assert take(core, core.sub) == [[b"SUBSCRIBE", b"app:room"]]
    core.interest("room", True, 0.0)  # already held: nothing more
    assert take(core, core.sub) == []
    assert core.publish("room", "hi") is True
    assert core.publish("room", b"\x01") is True
    (cmd1, cmd2) = take(core, core.pub)
    assert cmd1[:2] == [b"PUBLISH", b"app:room"] and envelope.unpack(cmd1[2]) == (ME, 1, "hi")
    assert envelope.unpack(cmd2[2]) == (ME, 2, b"\x01")
    core.feed(core.pub, b":1\r\n:1\r\n", 0.0)  # Redis's replies: receivers counted
    assert core.stats.published == 2 and not core.pub.replies
    core.feed(core.sub, push(b"subscribe", b"app:room", 1), 0.0)
    assert core.redis_channels == 1


def test_own_echoes_are_dropped_others_delivered_and_gaps_counted_per_publisher_and_topic():
    core, _ = up_core()
    core.interest("room", True, 0.0)
    core.interest("other", True, 0.0)
    got = core.feed(core.sub, message("room", ME, 1, "mine") + message("room", OTHER, 1, "a"), 0.0)
    assert got == [("room", "a")] and core.stats.echoes == 1
    # OTHER skips 2 and 3 on "room"; THIRD's first message sets its start;
    # OTHER's count on "other" is its own.
    got = core.feed(core.sub, message("room", OTHER, 4, "b") + message("room", THIRD, 9, b"c")
                    + message("other", OTHER, 1, "d") + message("other", OTHER, 2, "e"), 0.0)
    assert got == [("room", "b"), ("room", b"c"), ("other", "d"), ("other", "e")]
    assert core.stats.gaps == 2 and core.stats.received == 5
    # A publisher that restarted its count (a smaller number) is no gap.
    core.feed(core.sub, message("room", OTHER, 1, "f"), 0.0)
    assert core.stats.gaps == 2
    # Not ours: counted, not delivered.
    assert core.feed(core.sub, push(b"message", b"app:room", b"plain text"), 0.0) == []
    assert core.stats.malformed == 1


def test_the_last_subscriber_leaving_unsubscribes_after_the_grace_period():
    core, _ = up_core(unsubscribe_grace=2.0)
    core.interest("room", True, 0.0)
    take(core, core.sub)
    core.interest("room", False, 10.0)
    assert core.next_deadline() == 12.0
    core.tick(11.9)
    assert take(core, core.sub) == []  # still held during the grace
    core.interest("room", True, 11.0)  # back within the grace: no round trip
    core.tick(13.0)
    assert take(core, core.sub) == [] and core.channels == 1
    core.interest("room", False, 20.0)
    core.tick(22.0)
    assert take(core, core.sub) == [[b"UNSUBSCRIBE", b"app:room"]] and core.channels == 0
    assert core.next_deadline() == float("inf")


def test_reconnect_resubscribes_everything_and_reports_the_loss():
    core, errors = up_core()
    for topic in ("a", "b", "c"):
        core.interest(topic, True, 0.0)
    take(core, core.sub)
    core.connection_lost(core.sub, 5.0, "closed by Redis")
    assert core.sub.state == DOWN and core.stats.disconnects == 1
    assert len(errors) == 1 and isinstance(errors[0], BusError) and "subscribe" in str(errors[0])
    core.interest("d", True, 5.0)  # joins while down: subscribed on reconnect
    assert core.due_connects(5.0) == []  # backoff: not yet
    (link,) = core.due_connects(core.sub.retry_at)
    core.connected(link, core.sub.retry_at)
    (cmd,) = take(core, core.sub)
    assert cmd[0] == b"SUBSCRIBE" and sorted(cmd[1:]) == [b"app:a", b"app:b", b"app:c", b"app:d"]


def test_failed_connects_follow_the_backoff_schedule_and_a_reply_resets_it():
    config = RedisBus("redis://127.0.0.1:1/0", backoff_min=0.1, backoff_max=0.4)
    core = RedisBusCore(config, ME, 0.0, rng=lambda: 0.0)
    now, retries = 0.0, []
    for _ in range(5):
        for link in core.due_connects(now):
            if link is core.pub:
                core.connection_lost(link, now, "refused")
        now = core.pub.retry_at
        retries.append(round(now, 6))
    assert retries == [0.1, 0.3, 0.7, 1.1, 1.5]  # 0.1, 0.2, 0.4, 0.4, 0.4 apart
    core.due_connects(now)
    core.connected(core.pub, now)
    core.publish("t", "x")
    core.feed(core.pub, b":0\r\n", now)
    assert core.pub.backoff.attempts == 0


def test_a_connect_attempt_times_out():
    core = RedisBusCore(RedisBus("redis://127.0.0.1:1/0", connect_timeout=3.0), ME, 0.0, rng=lambda: 0.0)
    assert len(core.due_connects(0.0)) == 2
    assert core.next_deadline() == 3.0
    assert core.tick(2.9) == []
    assert core.tick(3.0) == [core.pub, core.sub] and core.pub.state == DOWN


def test_publishes_are_dropped_and_counted_while_down_or_over_the_output_bound():
    config = RedisBus("redis://127.0.0.1:1/0", max_redis_output=200)
    core = RedisBusCore(config, ME, 0.0)
    assert core.publish("room", "x") is False and core.stats.dropped == 1  # not connected
    core.due_connects(0.0)
    core.connected(core.pub, 0.0)
    sent = sum(core.publish("room", "y" * 50) for _ in range(10))
    assert 0 < sent < 10 and core.stats.dropped == 1 + 10 - sent
    assert len(core.pending(core.pub)) <= 200
    # A dropped message still takes its sequence number: receivers see the gap.
    last = parse_all(core.pending(core.pub))[-1]
    assert envelope.unpack(last[2])[1] == 1 + sent
    core.connection_lost(core.pub, 1.0, "reset")
    assert core.stats.unconfirmed == sent and core.pending(core.pub) == b""


def test_size_and_url_limits():
    core, _ = up_core(max_bus_message=10)
    core.check("t", "123456789")
    with pytest.raises(ValueError, match="max_bus_message"):
        core.check("t", "1234567890")
    for url in ("http://x", "rediss://x:6379", "redis://"):
        with pytest.raises(ValueError):
            RedisBus(url)
    with pytest.raises(ValueError):
        RedisBus(prefix="")
    with pytest.raises(ValueError):
        RedisBus(backoff_min=2, backoff_max=1)
    bus = RedisBus("redis://user:p%40ss@localhost:7000/3")
    assert (bus.host, bus.port, bus.username, bus.password) == ("localhost", 7000, "user", "p@ss")


def test_auth_is_sent_first_when_the_url_has_a_password():
    core = RedisBusCore(RedisBus("redis://:secret@127.0.0.1:1/0"), ME, 0.0)
    core.interest("room", True, 0.0)
    for link in core.due_connects(0.0):
        core.connected(link, 0.0)
    assert take(core, core.sub) == [[b"AUTH", b"secret"], [b"SUBSCRIBE", b"app:room".replace(b"app", b"wsfast")]]
    assert core.pub.state == UP


def test_the_core_owns_no_socket_no_loop_and_no_clock():
    import ast
    import pathlib

    import wsfast.bus

    forbidden = {"socket", "ssl", "select", "selectors", "asyncio", "threading", "time"}
    for path in pathlib.Path(wsfast.bus.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)


def test_sharded_pubsub_uses_the_sharded_commands_and_pushes():
    core = RedisBusCore(RedisBus("redis://127.0.0.1:1/0", prefix="app", sharded=True), ME, 0.0)
    core.interest("a", True, 0.0)
    core.interest("b", True, 0.0)
    for link in core.due_connects(0.0):
        core.connected(link, 0.0)
    assert sorted(take(core, core.sub)) == [[b"SSUBSCRIBE", b"app:a"], [b"SSUBSCRIBE", b"app:b"]]
    core.publish("a", "x")
    assert take(core, core.pub)[0][:2] == [b"SPUBLISH", b"app:a"]
    core.feed(core.sub, push(b"ssubscribe", b"app:a", 1), 0.0)
    assert core.redis_channels == 1
    pushed = push(b"smessage", b"app:a", envelope.pack(OTHER, 1, "hi"))
    assert core.feed(core.sub, pushed, 0.0) == [("a", "hi")]
    core.interest("a", False, 0.0)
    core.tick(100.0)
    assert take(core, core.sub) == [[b"SUNSUBSCRIBE", b"app:a"]]
