"""Topics across the workers of one machine (``run_workers``).

Each worker binds one AF_UNIX datagram socket, in Linux's abstract
namespace under a name unique to its supervisor's group, and watches it
in its own loop. A publish is delivered to the worker's own subscribers,
then handed, as one datagram, to each other worker that has subscribers
for the topic; that worker delivers it to its subscribers.

Why datagrams on AF_UNIX: no connections to set up between workers or
to re-establish when one restarts, no stream framing or partial writes,
the kernel keeps each sender's datagrams in order, and a full receiver
makes ``sendto`` fail at once (non-blocking) instead of stalling the
publishing loop. A receiving socket queues only a few datagrams (Linux's
``net.unix.max_dgram_qlen``, often 10), so what one loop pass sends to a
worker goes in one datagram: records are gathered per worker and sent
when the pass ends (as uWebSockets batches a pass's publishes into one
write per subscriber). A worker that is busy for a moment (a long
callback, a loaded machine) still fills its queue: what it cannot take
waits in the sender's backlog for that worker, retried every
``BUS_RETRY`` seconds, in order. Only past ``BUS_BACKLOG`` bytes, or
toward a worker that is not there (restarting), are publishes dropped
and counted (``BusStats.dropped``); the receiver sees per-sender
sequence numbers and counts what it missed (``gaps``). Interest records
are never dropped: they are state, and a dropped one is sent again.

Interest: a worker tells the others when a topic gains its first local
subscriber or loses its last, so a message goes only to workers that
want it; these records travel in the same datagrams, in order with the
publishes. A worker that starts (or is restarted by the supervisor) says
HELLO; the others forget what they knew of it, reset its sequence, and
tell it their interests.
"""

import os
import socket
import struct
import sys
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import Server

#: Largest topic plus message a worker hands to the others (bytes); a
#: larger publish raises ValueError before anything is sent.
MAX_BUS_MESSAGE = 128 * 1024
#: A pass's records for one worker are sent once they reach this size.
BUS_DATAGRAM = 64 * 1024
#: Datagrams a worker takes from the bus per loop pass (fairness).
BUS_BATCH = 64
#: Socket buffers asked for the bus socket (the kernel may cap them).
BUS_BUFFER = 4 * 1024 * 1024
#: Bytes waiting for one worker whose queue is full; past it, publishes
#: toward that worker are dropped and counted.
BUS_BACKLOG = 4 * 1024 * 1024
#: How often a backlog is retried while it waits (seconds).
BUS_RETRY = 0.002

# One record: kind, flags, origin worker, sequence (per sender and
# receiver, publishes only), topic length, payload length.
_RECORD = struct.Struct("!BBHQHI")
_PUBLISH, _INTEREST, _NO_INTEREST, _HELLO = 1, 2, 3, 4
_TEXT = 1

AVAILABLE = sys.platform.startswith("linux")  # abstract AF_UNIX addresses


def bus_address(group: str, index: int) -> bytes:
    return b"\0wsfast-bus-%s-%d" % (group.encode("ascii"), index)


def new_group() -> str:
    """A name for one supervisor's workers, unique on this machine."""
    return "%d-%s" % (os.getpid(), os.urandom(4).hex())


class BusStats:
    """``sent``/``received``: messages handed over / taken from the bus;
    ``dropped``: messages another worker could not take at once (its
    buffer was full, or it was restarting); ``gaps``: messages this
    worker never got (sequence numbers skipped)."""

    __slots__ = ("sent", "received", "dropped", "gaps")

    def __init__(self) -> None:
        self.sent = self.received = self.dropped = self.gaps = 0

    def __repr__(self) -> str:
        return "BusStats(sent=%d, received=%d, dropped=%d, gaps=%d)" % (
            self.sent, self.received, self.dropped, self.gaps)


class WorkerBus:
    """This worker's end of its group's bus."""

    def __init__(self, group: str, index: int, workers: int) -> None:
        if not AVAILABLE:
            raise OSError("the workers' bus needs Linux (abstract AF_UNIX addresses)")
        self.index = index
        self.workers = workers
        self.stats = BusStats()
        self._peers = [bus_address(group, i) for i in range(workers)]
        self._interest: list[set[str]] = [set() for _ in range(workers)]  # topics each worker wants
        self._sent_seq = [0] * workers
        self._seen_seq = [0] * workers
        self._out: list[list[bytes]] = [[] for _ in range(workers)]  # records for each worker, this pass
        self._out_size = [0] * workers
        self._out_publishes = [0] * workers
        self._out_interest: list[dict[bytes, int]] = [{} for _ in range(workers)]  # topic -> kind, this pass
        # Datagrams a full worker has not taken yet: (datagram, publishes).
        self._backlog: list[deque[tuple[bytes, int]]] = [deque() for _ in range(workers)]
        self._backlog_size = [0] * workers
        self._owed_interest: list[dict[bytes, int]] = [{} for _ in range(workers)]  # dropped, to send again
        self._flush_scheduled = False
        self._retry_scheduled = False
        sock = self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, BUS_BUFFER)
            except OSError:
                pass
        sock.setblocking(False)
        sock.bind(self._peers[index])
        self._server: Server | None = None

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self.flush()
        self._sock.close()

    def start(self, server: "Server") -> None:
        """Attach to ``server`` (which delivers what arrives) and say HELLO."""
        self._server = server
        for i in range(self.workers):
            if i != self.index:
                self._record(i, _HELLO, 0, b"", b"")

    # -- sending ---------------------------------------------------------------

    def _record(self, peer: int, kind: int, flags: int, topic: bytes, payload: bytes) -> None:
        """Queue one record for ``peer``; it leaves when the pass ends."""
        seq = 0
        if kind == _PUBLISH:
            seq = self._sent_seq[peer] = self._sent_seq[peer] + 1
            self._out_publishes[peer] += 1
        elif kind == _INTEREST or kind == _NO_INTEREST:
            self._out_interest[peer][topic] = kind
        record = _RECORD.pack(kind, flags, self.index, seq, len(topic), len(payload)) + topic + payload
        self._out[peer].append(record)
        self._out_size[peer] += len(record)
        if self._out_size[peer] >= BUS_DATAGRAM:
            self._send(peer)
        elif not self._flush_scheduled and self._server is not None:
            self._flush_scheduled = True
            self._server.call_later(0, self.flush)  # when this loop pass ends

    def _send(self, peer: int) -> None:
        owed = self._owed_interest[peer]
        if owed and not self._backlog[peer]:  # room again: what was dropped goes too
            self._owed_interest[peer] = {}
            for topic, kind in owed.items():
                if topic not in self._out_interest[peer]:
                    self._record(peer, kind, 0, topic, b"")
            if not self._out[peer]:
                return  # _record sent them all
        datagram = b"".join(self._out[peer])
        publishes, interest = self._out_publishes[peer], self._out_interest[peer]
        self._out[peer], self._out_size[peer], self._out_publishes[peer] = [], 0, 0
        self._out_interest[peer] = {}
        if self._backlog[peer]:  # keep the order: behind what waits
            self._wait(peer, datagram, publishes, interest)
            return
        try:
            self._sock.sendto(datagram, self._peers[peer])
        except (BlockingIOError, InterruptedError):  # its queue is full: wait
            self._wait(peer, datagram, publishes, interest)
            return
        except OSError:  # the worker is not there (restarting): its HELLO resets us
            self.stats.dropped += publishes
            return
        self.stats.sent += publishes

    def _wait(self, peer: int, datagram: bytes, publishes: int, interest: dict[bytes, int]) -> None:
        """Put a datagram in ``peer``'s backlog, or drop it past BUS_BACKLOG
        (its interest records are owed, and sent again)."""
        if self._backlog_size[peer] + len(datagram) > BUS_BACKLOG:
            self.stats.dropped += publishes
            self._owed_interest[peer].update(interest)
            return
        self._backlog[peer].append((datagram, publishes))
        self._backlog_size[peer] += len(datagram)
        if not self._retry_scheduled and self._server is not None:
            self._retry_scheduled = True
            self._server.call_later(BUS_RETRY, self._retry)

    def _retry(self) -> None:
        """Hand each waiting worker what it can take now, in order."""
        self._retry_scheduled = False
        waiting = False
        for peer in range(self.workers):
            backlog = self._backlog[peer]
            while backlog:
                datagram, publishes = backlog[0]
                try:
                    self._sock.sendto(datagram, self._peers[peer])
                except (BlockingIOError, InterruptedError):
                    waiting = True
                    break
                except OSError:  # gone (restarting): drop what waits for it
                    self._forget(peer)
                    break
                backlog.popleft()
                self._backlog_size[peer] -= len(datagram)
                self.stats.sent += publishes
            if not backlog and self._owed_interest[peer]:
                self._send(peer)  # room again: the owed interest
                waiting = waiting or bool(backlog)
        if waiting and self._server is not None:
            self._retry_scheduled = True
            self._server.call_later(BUS_RETRY, self._retry)

    def _forget(self, peer: int) -> None:
        """``peer`` is gone: what waits for it is dropped (its HELLO, when
        it is back, makes us send our interests again)."""
        self.stats.dropped += sum(publishes for _, publishes in self._backlog[peer])
        self._backlog[peer].clear()
        self._backlog_size[peer] = 0
        self._owed_interest[peer] = {}

    def flush(self) -> None:
        """Send each worker what this pass gathered for it, one datagram each."""
        self._flush_scheduled = False
        for peer in range(self.workers):
            if self._out[peer]:
                self._send(peer)

    def interest(self, topic: str, present: bool) -> None:
        """This worker gained its first subscriber of ``topic`` (or lost its last)."""
        raw = topic.encode("utf-8")
        kind = _INTEREST if present else _NO_INTEREST
        for i in range(self.workers):
            if i != self.index:
                self._record(i, kind, 0, raw, b"")

    def workers_interested(self, topic: str) -> int:
        """How many other workers this worker knows to have subscribers
        of ``topic`` (what a publish here would be handed to)."""
        return sum(1 for i, topics in enumerate(self._interest) if i != self.index and topic in topics)

    def check(self, topic: str, data: str | bytes) -> None:
        """Raise ValueError if this publish cannot cross the bus."""
        size = len(topic.encode("utf-8")) + len(data.encode("utf-8") if isinstance(data, str) else data)
        if size > MAX_BUS_MESSAGE:
            raise ValueError("a message published across workers is at most %d bytes "
                             "with its topic (MAX_BUS_MESSAGE), got %d" % (MAX_BUS_MESSAGE, size))

    def publish(self, topic: str, data: str | bytes) -> int:
        """Queue a message for every other worker that wants ``topic``;
        returns how many workers that is."""
        wanting = [i for i, topics in enumerate(self._interest) if topic in topics and i != self.index]
        if not wanting:
            return 0
        raw = topic.encode("utf-8")
        if isinstance(data, str):
            flags, payload = _TEXT, data.encode("utf-8")
        else:
            flags, payload = 0, bytes(data)
        for i in wanting:
            self._record(i, _PUBLISH, flags, raw, payload)
        return len(wanting)

    # -- receiving ------------------------------------------------------------------

    def on_readable(self) -> None:
        """Take up to BUS_BATCH datagrams; deliver their publishes locally."""
        sock = self._sock
        for _ in range(BUS_BATCH):
            try:
                datagram = sock.recv(BUS_DATAGRAM + MAX_BUS_MESSAGE + 64)
            except (BlockingIOError, InterruptedError):
                return
            self._take(datagram)

    def _take(self, datagram: bytes) -> None:
        server, record, size = self._server, _RECORD, _RECORD.size
        pos, end = 0, len(datagram)
        while pos + size <= end:
            kind, flags, origin, seq, topic_len, payload_len = record.unpack_from(datagram, pos)
            pos += size
            topic = datagram[pos:pos + topic_len].decode("utf-8")
            pos += topic_len
            payload = datagram[pos:pos + payload_len]
            pos += payload_len
            if origin >= self.workers or origin == self.index:
                return  # not one of ours: ignore the rest
            if kind == _PUBLISH:
                seen = self._seen_seq[origin]
                if seq > seen + 1:
                    self.stats.gaps += seq - seen - 1
                self._seen_seq[origin] = seq
                self.stats.received += 1
                assert server is not None  # start() came before the loop watched the bus
                server._publish_local(topic, payload.decode("utf-8") if flags & _TEXT else payload)
            elif kind == _INTEREST:
                self._interest[origin].add(topic)
            elif kind == _NO_INTEREST:
                self._interest[origin].discard(topic)
            elif kind == _HELLO:
                # The worker (re)started: what we knew of it is gone.
                self._interest[origin].clear()
                self._seen_seq[origin] = 0
                self._sent_seq[origin] = 0
                self._out[origin], self._out_size[origin], self._out_publishes[origin] = [], 0, 0
                self._out_interest[origin] = {}
                self._forget(origin)
                assert server is not None
                for mine in server._topics.topics():
                    self._record(origin, _INTEREST, 0, mine.encode("utf-8"), b"")
