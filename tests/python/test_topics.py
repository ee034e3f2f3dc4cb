"""Topics: subscriptions, publish to subscribers only, cleanup when a
connection ends, limits, the slow-subscriber rule, and what a
subscription costs in memory; on the epoll server (both backends) and the
asyncio adapter."""

import asyncio
import random
import socket
import time
import tracemalloc

import pytest

import wsfast.asyncio as wsa
from serverloop import Recorder, on_loop, running
from wsfast.client import connect
from wsfast.protocol import InvalidState
from wsfast.topics import TopicError, TopicRegistry, topics_of


class Member:
    __slots__ = ("_topics", "name")

    def __init__(self, name=""):
        self._topics = None
        self.name = name


# -- the registry -----------------------------------------------------------------


def test_subscribe_unsubscribe_and_counts():
    r = TopicRegistry()
    a, b = Member("a"), Member("b")
    assert r.subscribe(a, "news") is True
    assert r.subscribe(a, "news") is False
    assert r.subscribe(b, "news") and r.subscribe(a, "sport")
    assert r.count("news") == 2 and r.count("sport") == 1 and r.count("none") == 0
    assert topics_of(a) == {"news", "sport"} and topics_of(b) == {"news"}
    assert set(map(id, r.subscribers("news"))) == {id(a), id(b)}
    assert r.unsubscribe(a, "news") is True and r.unsubscribe(a, "news") is False
    assert r.unsubscribe(b, "sport") is False
    r.unsubscribe_all(a)
    r.unsubscribe_all(b)
    assert len(r) == 0 and a._topics is None and b._topics is None


def test_limits_and_bad_topics():
    r = TopicRegistry(max_topic_length=8, max_topics_per_connection=3)
    m = Member()
    with pytest.raises(TypeError):
        r.subscribe(m, b"bytes")
    with pytest.raises(TopicError):
        r.subscribe(m, "")
    with pytest.raises(TopicError):
        r.subscribe(m, "é" * 5)  # 10 bytes of UTF-8
    for t in ("a", "b", "c"):
        r.subscribe(m, t)
    with pytest.raises(TopicError, match="max_topics_per_connection"):
        r.subscribe(m, "d")
    assert topics_of(m) == {"a", "b", "c"} and r.count("d") == 0


def test_registry_matches_a_plain_model_through_random_operations():
    # One item, tuples and sets on both sides, and back: the registry must
    # always agree with a dict of sets.
    rng = random.Random(7)
    r = TopicRegistry(max_topics_per_connection=1000)
    members = [Member(str(i)) for i in range(60)]
    names = ["t%d" % i for i in range(90)]
    model = {}
    for _ in range(20000):
        m, t = rng.choice(members), rng.choice(names)
        op = rng.random()
        if op < 0.55:
            assert r.subscribe(m, t) == (m not in model.setdefault(t, set()))
            model[t].add(m)
        elif op < 0.97:
            assert r.unsubscribe(m, t) == (m in model.get(t, ()))
            model.get(t, set()).discard(m)
        else:
            r.unsubscribe_all(m)
            for subs in model.values():
                subs.discard(m)
    for t in names:
        assert set(map(id, r.subscribers(t))) == set(map(id, model.get(t, ()))), t
        assert r.count(t) == len(model.get(t, ()))
    for m in members:
        assert topics_of(m) == {t for t, subs in model.items() if m in subs}
    assert len(r) == sum(1 for subs in model.values() if subs)


def test_a_subscription_costs_under_64_bytes():
    members = [Member() for _ in range(10000)]
    names = ["topic-%d" % i for i in range(100)]
    tracemalloc.start()
    try:
        r = TopicRegistry()
        before = tracemalloc.get_traced_memory()[0]
        for i, m in enumerate(members):
            for k in range(10):
                r.subscribe(m, names[(i * 7 + k * 13) % 100])
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    pairs = sum(r.count(t) for t in names)
    assert pairs == 100000
    assert used / pairs < 64, used / pairs


# -- the epoll server -----------------------------------------------------------------


class TopicApp(Recorder):
    """Messages 'sub:T', 'unsub:T', 'pub:T:text' (ws.publish: not to the
    sender) and 'all:T:text' (server.publish: to everyone subscribed)."""

    def __init__(self):
        super().__init__(echo=False)
        self.server = None

    def on_message(self, ws, message):
        verb, _, rest = message.partition(":")
        if verb == "sub":
            ws.send("sub %s %s" % (rest, ws.subscribe(rest)))
        elif verb == "unsub":
            ws.send("unsub %s %s" % (rest, ws.unsubscribe(rest)))
        elif verb == "pub":
            topic, _, text = rest.partition(":")
            ws.send("reached %d" % ws.publish(topic, text))
        elif verb == "all":
            topic, _, text = rest.partition(":")
            ws.send("reached %d" % self.server.publish(topic, text))


def _clients(server, n):
    return [connect("ws://127.0.0.1:%d/" % server.port, compression=False) for _ in range(n)]


def test_epoll_publish_reaches_subscribers_only_and_ends_with_the_connection(impl):
    app = TopicApp()
    with running(backend=impl, **app.handlers()) as server:
        app.server = server
        a, b, c = _clients(server, 3)
        for ws in (a, b):
            ws.send("sub:room")
            assert ws.recv(timeout=5) == "sub room True"
        a.send("sub:room")
        assert a.recv(timeout=5) == "sub room False"
        assert on_loop(server, server.subscriber_count, "room") == 2
        a.send("pub:room:hello")  # not to a itself
        assert b.recv(timeout=5) == "hello"
        assert a.recv(timeout=5) == "reached 1"
        c.send("all:room:to all")  # c is not subscribed: it only gets the count
        assert c.recv(timeout=5) == "reached 2"
        assert a.recv(timeout=5) == "to all" and b.recv(timeout=5) == "to all"
        b.close()
        deadline = time.monotonic() + 5
        while on_loop(server, server.subscriber_count, "room") != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        c.send("all:room:again")
        assert c.recv(timeout=5) == "reached 1" and a.recv(timeout=5) == "again"
        c.send("unsub:room")
        assert c.recv(timeout=5) == "unsub room False"
        a.close()
        c.close()


def test_epoll_topic_errors_and_closed_connections():
    with running(compression=False) as server:
        with _clients(server, 1)[0]:
            ws = on_loop(server, lambda: next(iter(server.clients)))
            with pytest.raises(TypeError):
                on_loop(server, ws.subscribe, 42)
            with pytest.raises(TopicError):
                on_loop(server, ws.subscribe, "x" * 300)
            with pytest.raises(TopicError):
                on_loop(server, server.publish, "", "data")
            assert on_loop(server, ws.subscribe, "t") is True
            assert on_loop(server, lambda: ws.topics) == frozenset({"t"})
            on_loop(server, ws.close)
            with pytest.raises(InvalidState):
                on_loop(server, ws.subscribe, "u")


def test_epoll_publish_skips_a_slow_subscriber_and_counts_it():
    with running(compression=False, write_high_water=4096, write_low_water=1024) as server:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        slow.recv(4096)
        with _clients(server, 1)[0] as good:
            deadline = time.monotonic() + 5
            while len(on_loop(server, lambda: list(server.clients))) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            port = slow.getsockname()[1]
            for ws in on_loop(server, lambda: list(server.clients)):
                on_loop(server, ws.subscribe, "feed")
                if ws.remote_address[1] == port:  # a small send buffer too
                    on_loop(server, ws.sock.setsockopt, socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            reached = on_loop(server, lambda: [server.publish("feed", b"x" * 1024) for _ in range(64)])
            for _ in range(64):
                assert good.recv(timeout=5) == b"x" * 1024
        assert min(reached) == 1 and max(reached) == 2
        assert on_loop(server, lambda: server.stats.skipped) == sum(2 - n for n in reached) > 0
        slow.close()


def _subscribed(server, clients, topic):
    """The server's side of ``clients`` (connected sync clients or raw
    sockets), in their order, each subscribed to ``topic``."""
    deadline = time.monotonic() + 5
    while len(on_loop(server, lambda: list(server.clients))) < len(clients):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    by_port = {ws.remote_address[1]: ws for ws in on_loop(server, lambda: list(server.clients))}
    mine = [by_port[getattr(c, "_sock", c).getsockname()[1]] for c in clients]
    for ws in mine:
        on_loop(server, ws.subscribe, topic)
    return mine


def test_epoll_publish_in_a_pass_keeps_order_with_the_connections_own_sends(impl):
    # Publishes wait for the end of the pass, sends too: one queue, in order.
    with running(backend=impl, compression=False) as server:
        a, b = _clients(server, 2)
        ws_a, ws_b = _subscribed(server, [a, b], "t")

        def mixed():
            for i in range(3):
                ws_a.send("own %d" % i)
                server.publish("t", "pub %d" % i)
                server.broadcast("all %d" % i)
                ws_b.publish("t", "from b %d" % i)  # not to b itself
            return ws_a.buffered_amount > 0  # still queued: written when the pass ends

        assert on_loop(server, mixed) is True
        expected_a = [m for i in range(3) for m in ("own %d" % i, "pub %d" % i, "all %d" % i, "from b %d" % i)]
        expected_b = [m for i in range(3) for m in ("pub %d" % i, "all %d" % i)]
        assert [a.recv(timeout=5) for _ in expected_a] == expected_a
        assert [b.recv(timeout=5) for _ in expected_b] == expected_b
        a.close()
        b.close()


def test_epoll_many_publishes_in_a_pass_reach_each_subscriber_once_in_order(impl):
    # More than PASS_FRAMES messages per subscriber in one pass.
    n = 500
    with running(backend=impl, compression=False) as server:
        clients = _clients(server, 3)
        _subscribed(server, clients, "t")
        reached = on_loop(server, lambda: [server.publish("t", "m %d" % i) for i in range(n)])
        assert reached == [3] * n
        for c in clients:
            assert [c.recv(timeout=5) for _ in range(n)] == ["m %d" % i for i in range(n)]
        with pytest.raises(TimeoutError):
            clients[0].recv(timeout=0.2)  # nothing twice
        assert on_loop(server, lambda: server.stats.skipped) == 0
        for c in clients:
            c.close()


def test_epoll_max_step_frames_is_a_server_setting():
    from wsfast.server import limits

    assert limits.MAX_STEP_FRAMES > 128  # the protocol's own default
    with pytest.raises(ValueError):
        from wsfast.server import Server
        Server("127.0.0.1", 0, max_step_frames=0)
    for options, expected in (({}, limits.MAX_STEP_FRAMES), ({"max_step_frames": 7}, 7)):
        with running(compression=False, **options) as server:
            with _clients(server, 1)[0]:
                ws = on_loop(server, lambda: next(iter(server.clients)))
                assert on_loop(server, lambda: ws.conn.max_step_frames) == expected


def test_epoll_a_subscriber_that_never_reads_is_bounded_skipped_then_dropped():
    high, bound = 16 * 1024, 256 * 1024
    with running(compression=False, write_high_water=high, write_low_water=1024,
                 max_buffered=bound) as server:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        slow.recv(4096)
        ws = _subscribed(server, [slow], "feed")[0]
        on_loop(server, ws.sock.setsockopt, socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        frame = 1024 + 4  # payload and header
        # "skip": many passes of publishes; what waits never passes the
        # high-water mark by more than a frame.
        reached = 0
        for _ in range(20):
            got = on_loop(server, lambda: [server.publish("feed", b"x" * 1024) for _ in range(200)]
                          + [ws.buffered_amount])
            assert got[-1] <= high + frame
            reached += sum(got[:-1])
        skipped = on_loop(server, lambda: server.stats.skipped)
        assert skipped > 0 and skipped == 20 * 200 - reached
        assert on_loop(server, lambda: server.stats.dropped) == 0
        # "queue": past max_buffered it is dropped; memory stays bounded.
        sizes = on_loop(server, lambda: [(server.publish("feed", b"x" * 1024, slow="queue"),
                                          ws.buffered_amount)[1] for _ in range(1000)])
        assert max(sizes) <= bound + 64 * frame
        assert on_loop(server, lambda: server.stats.dropped) == 1
        assert on_loop(server, server.subscriber_count, "feed") == 0
        slow.close()


# -- the asyncio adapter ----------------------------------------------------------------


def test_asyncio_topics():
    async def handler(ws):
        async for message in ws:
            verb, _, rest = message.partition(":")
            if verb == "sub":
                await ws.send("sub %s" % ws.subscribe(rest))
            elif verb == "pub":
                topic, _, text = rest.partition(":")
                await ws.send("reached %d" % ws.publish(topic, text))

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            a, b, c = [await wsa.connect(url, compression=False) for _ in range(3)]
            for ws in (a, b):
                await ws.send("sub:room")
                assert await ws.recv() == "sub True"
            assert server.subscriber_count("room") == 2
            await a.send("pub:room:hi")
            assert await b.recv() == "hi" and await a.recv() == "reached 1"
            assert server.publish("room", "all") == 2
            assert await a.recv() == "all" and await b.recv() == "all"
            assert server.publish("nobody", "x") == 0
            with pytest.raises(TypeError):
                server.publish(1, "x")
            await b.close()
            for _ in range(200):
                if server.subscriber_count("room") == 1:
                    break
                await asyncio.sleep(0.01)
            assert server.subscriber_count("room") == 1
            for ws in (a, c):
                await ws.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_asyncio_publishes_of_a_pass_are_written_once_per_subscriber_in_order():
    writes = []

    async def handler(ws):
        write = ws.transport.write
        ws.transport.write = lambda data: (writes.append(len(data)), write(data))[1]
        ws.subscribe("t")
        await ws.wait_closed()

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            a, b = [await wsa.connect(url, compression=False) for _ in range(2)]
            while server.subscriber_count("t") < 2:
                await asyncio.sleep(0.01)
            sender = next(iter(server.clients))
            del writes[:]
            # One pass: publishes, the connection's own send, more publishes.
            reached = [server.publish("t", "p%d" % i) for i in range(5)]
            await sender.send("own")
            reached += [server.publish("t", "q%d" % i, exclude=sender) for i in range(3)]
            assert reached == [2] * 5 + [1] * 3
            assert writes == [sum(len("p%d" % i) + 2 for i in range(5)) + len("own") + 2]
            await asyncio.sleep(0.05)
            # The other subscriber: one write for the whole pass.
            assert writes[1:] == [sum(len("p%d" % i) + 2 for i in range(5))
                                  + sum(len("q%d" % i) + 2 for i in range(3))]
            messages = {}
            for client in (a, b):
                messages[client] = []
                while True:
                    try:
                        messages[client].append(await asyncio.wait_for(client.recv(), 0.3))
                    except asyncio.TimeoutError:
                        break
            expected_sender = ["p%d" % i for i in range(5)] + ["own"]
            expected_other = ["p%d" % i for i in range(5)] + ["q%d" % i for i in range(3)]
            assert sorted(messages.values()) == sorted([expected_sender, expected_other])
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_asyncio_batched_publishes_skip_then_drop_a_subscriber_that_never_reads():
    bound = 256 * 1024

    async def handler(ws):
        ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        ws.subscribe("feed")
        await ws.wait_closed()

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False, write_high_water=16 * 1024,
                             write_low_water=1024, max_buffered=bound) as server:
            port = server.sockets[0].getsockname()[1]
            slow = socket.socket()
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.connect(("127.0.0.1", port))
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            while server.subscriber_count("feed") < 1:
                await asyncio.sleep(0.01)
            reached = 0
            for _ in range(20):  # "skip": passes of publishes; once paused, skipped
                reached += sum(server.publish("feed", b"x" * 1024) for _ in range(200))
                await asyncio.sleep(0.01)
            assert server.stats.skipped == 20 * 200 - reached > 0
            assert server.stats.dropped == 0
            for _ in range(50):  # "queue": dropped past max_buffered
                if server.subscriber_count("feed") == 0:
                    break
                server.publish("feed", b"x" * 1024 * 16, slow="queue")
                await asyncio.sleep(0.01)
            assert server.subscriber_count("feed") == 0
            assert server.stats.dropped == 1
            slow.close()

    asyncio.run(asyncio.wait_for(main(), 20))
