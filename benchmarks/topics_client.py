"""One client process of bench_topics_bun.py: subscribers of many topics.

    python3 benchmarks/topics_client.py --port P --first F --count K \\
        --conns C --topics T --per-topic S --publishes N

Opens connections F .. F+K-1 of the plan (``topic_plan.py``: C
connections, T topics with S subscribers each), subscribes each to its
topics (a text message ``sub NAME ...``, answered ``ok``), prints
``{"ready": K}``, then reads until its connections have every message of
each phase of publishes meant for them (``--publishes W,N``: publishes
0 .. W-1, then W .. W+N-1), printing ``{"received": ..., "first_ns": ...,
"last_ns": ...}`` after each phase (receive instants of its first and
last message on the machine-wide monotonic clock). A message for a topic
the connection does not hold, or one too many, is an error, as is the
time limit. Plain non-blocking sockets, epoll and wsfast's frame parser:
the same client for every server. Sockets close with RST.
"""

import argparse
import os
import select
import sys
import time

import wsfast

from bench_client import BenchError
from broadcast_client import connect_all, emit
from servers import raise_nofile
from topic_plan import SIZE, assignment, expected_per_connection, topic_name


def subscribe_all(socks, held, deadline):
    encode = wsfast.FrameEncoder(client=True).encode
    for s, mine in zip(socks, held):
        s.sendall(encode(wsfast.OP_TEXT, ("sub " + " ".join(topic_name(t) for t in mine)).encode()))
    for s in socks:
        parser = wsfast.FrameParser(server=False).feed
        while True:
            if time.monotonic() > deadline:
                raise BenchError("no answer to a subscription")
            chunk = s.recv(4096)
            if not chunk:
                raise BenchError("server closed a connection while subscribing")
            frames = parser(chunk)
            if frames:
                op, payload, _fin, _rsv1 = frames[0]
                if op != wsfast.OP_TEXT or payload != b"ok" or len(frames) > 1:
                    raise BenchError("unexpected answer to a subscription: %r" % (payload[:40],))
                break


class Receiver:
    """The connections on one epoll, each with its parser, its topics and
    its count of messages against what it should have by now."""

    def __init__(self, socks, held):
        self.ep = select.epoll()
        self.parsers, self.wanted, self.got, self.by_fd = {}, {}, {}, {}
        self.fds = []
        for s, mine in zip(socks, held):
            s.setblocking(False)
            fd = s.fileno()
            self.fds.append(fd)
            self.by_fd[fd] = s
            self.parsers[fd] = wsfast.FrameParser(server=False).feed
            self.wanted[fd] = frozenset(mine)
            self.got[fd] = [0, 0]
            self.ep.register(fd, select.EPOLLIN)

    def close(self):
        self.ep.close()

    def phase(self, expected, poll_interval, deadline):
        """Read until every connection has ``expected`` more messages."""
        for fd, more in zip(self.fds, expected):
            self.got[fd][1] += more
        return receive(self.ep, self.by_fd, self.parsers, self.wanted, self.got, sum(expected),
                       poll_interval, deadline)


def receive(ep, by_fd, parsers, wanted, got, goal, poll_interval, deadline):
    total = 0
    first = last = None
    now_ns = time.monotonic_ns
    while total < goal:
        if time.monotonic() > deadline:
            raise BenchError("time limit: received %d of %d messages" % (total, goal))
        events = ep.poll(0.5, 4096)
        for fd, _ev in events:
            try:
                data = by_fd[fd].recv(262144)
            except BlockingIOError:
                continue
            if not data:
                raise BenchError("server closed a connection")
            last = now_ns()
            if first is None:
                first = last
            topics, counts = wanted[fd], got[fd]
            for op, payload, _fin, _rsv1 in parsers[fd](data):
                if op != wsfast.OP_BINARY or len(payload) != SIZE:
                    raise BenchError("unexpected frame: opcode %d, %d bytes" % (op, len(payload)))
                if int.from_bytes(payload[:4], "big") not in topics:
                    raise BenchError("a message for a topic this connection does not hold")
                counts[0] += 1
                total += 1
            if counts[0] > counts[1]:
                raise BenchError("a connection got %d messages, %d expected" % tuple(counts))
        if events and poll_interval:
            time.sleep(poll_interval)  # let messages gather in the sockets
    return total, first, last


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--conns", type=int, required=True, help="connections in the whole plan")
    p.add_argument("--topics", type=int, required=True)
    p.add_argument("--per-topic", type=int, required=True)
    p.add_argument("--publishes", required=True, help="publishes per phase, comma-separated")
    p.add_argument("--poll-interval", type=float, default=0.001)
    p.add_argument("--timeout", type=float, default=120.0, help="time limit for the whole run")
    args = p.parse_args(argv)
    raise_nofile()
    deadline = time.monotonic() + args.timeout
    held = assignment(args.conns, args.topics, args.per_topic)[args.first:args.first + args.count]
    phases = [int(n) for n in args.publishes.split(",")]
    socks, receiver = [], None
    try:
        socks = connect_all(args.port, args.count, 64, deadline)
        subscribe_all(socks, held, deadline)
        receiver = Receiver(socks, held)
        emit({"ready": len(socks), "pid": os.getpid()})
        done = 0
        for n in phases:
            before = expected_per_connection(held, done, args.topics)
            done += n
            after = expected_per_connection(held, done, args.topics)
            total, first, last = receiver.phase([a - b for a, b in zip(after, before)],
                                                args.poll_interval, deadline)
            emit({"received": total, "first_ns": first, "last_ns": last})
    except (BenchError, OSError) as exc:
        emit({"error": "%s: %s" % (type(exc).__name__, exc)})
        return 1
    finally:
        if receiver is not None:
            receiver.close()
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
