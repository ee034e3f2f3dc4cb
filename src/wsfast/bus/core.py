"""The Redis bus without I/O: what to send to Redis, what its replies
mean, which channels to hold, when to reconnect.

Two Redis connections ("links"): one publishes, one subscribes (a RESP2
connection that has subscribed may only subscribe and unsubscribe). A
driver owns the sockets and the clock: it connects a link when
``due_connects`` names it, feeds what it reads to ``feed`` (which returns
the messages to deliver locally), writes what ``pending`` holds and
reports it with ``consumed``, reports ``connected``/``connection_lost``,
and calls ``tick`` by ``next_deadline``.
"""

import collections
import logging
import random
from typing import Any, Callable

import hiredis

from . import envelope
from ..shared.backoff import Backoff
from .config import BusError, RedisBus
from .limits import SUBSCRIBE_BATCH
from .resp import command

log = logging.getLogger("wsfast.bus")

DOWN, CONNECTING, UP = "down", "connecting", "up"
_AUTH, _PUBLISH = 1, 2
_MESSAGE = (b"message", b"smessage")  # push kinds: classic and sharded Pub/Sub
_SUBSCRIPTION = (b"subscribe", b"unsubscribe", b"ssubscribe", b"sunsubscribe")


class RedisBusStats:
    """``published``: messages handed to Redis; ``dropped``: publishes not
    handed over (Redis unreachable, or ``max_redis_output`` full);
    ``unconfirmed``: publishes written to a connection that was lost before
    Redis acknowledged them (each delivered or not); ``received``: other
    servers' messages delivered here; ``echoes``: this server's own
    messages coming back (dropped: they were delivered locally at once);
    ``gaps``: messages from another server this one never got (sequence
    numbers skipped, per publisher and topic); ``disconnects``: Redis
    connections lost; ``connects``: connections made; ``malformed``:
    channel messages that are not wsfast envelopes (ignored)."""

    __slots__ = ("published", "dropped", "unconfirmed", "received", "echoes", "gaps",
                 "disconnects", "connects", "malformed")

    def __init__(self) -> None:
        self.published = self.dropped = self.unconfirmed = self.received = 0
        self.echoes = self.gaps = self.disconnects = self.connects = self.malformed = 0

    def __repr__(self) -> str:
        return "RedisBusStats(%s)" % ", ".join("%s=%d" % (n, getattr(self, n)) for n in self.__slots__)


class Link:
    """One Redis connection's state, as the core sees it."""

    __slots__ = ("name", "state", "reader", "out", "backoff", "retry_at", "deadline", "replies", "ever_up")

    def __init__(self, name: str, backoff: Backoff) -> None:
        self.name = name
        self.state = DOWN
        self.reader: Any = None
        self.out = bytearray()
        self.backoff = backoff
        self.retry_at = 0.0  # when DOWN: connect again at this time
        self.deadline = 0.0  # when CONNECTING: give up at this time
        self.replies: collections.deque[int] = collections.deque()  # kinds awaited (publish link)
        self.ever_up = False

    def __repr__(self) -> str:
        return "<Link %s %s>" % (self.name, self.state)


class RedisBusCore:
    def __init__(self, config: RedisBus, origin: bytes, now: float,
                 rng: Callable[[], float] | None = None) -> None:
        if len(origin) != envelope.ORIGIN_SIZE:
            raise ValueError("origin is %d bytes" % envelope.ORIGIN_SIZE)
        self.config = config
        self.origin = origin
        self.stats = RedisBusStats()
        # The reconnecting clients' policy: doubling to the bound, each
        # delay cut by a random fraction of up to a half.
        # max_attempts stays None: the bus retries for as long as it runs.
        draw = random.random if rng is None else rng
        self.pub = Link("publish", Backoff(config.backoff_min, max_delay=config.backoff_max, random=draw))
        self.sub = Link("subscribe", Backoff(config.backoff_min, max_delay=config.backoff_max, random=draw))
        self.pub.retry_at = self.sub.retry_at = now
        self._prefix = config.prefix.encode("utf-8") + b":"
        sharded = config.sharded
        self._publish_cmd = b"SPUBLISH" if sharded else b"PUBLISH"
        self._subscribe_cmd = b"SSUBSCRIBE" if sharded else b"SUBSCRIBE"
        self._unsubscribe_cmd = b"SUNSUBSCRIBE" if sharded else b"UNSUBSCRIBE"
        self._wanted: set[str] = set()  # topics whose channel we hold (or want to)
        self._leaving: dict[str, float] = {}  # topic -> when to unsubscribe (grace)
        self._next_seq: dict[str, int] = {}  # topic -> last sequence number we published
        self._seen: dict[str, dict[bytes, int]] = {}  # topic -> origin -> last sequence received
        #: Channels Redis says the subscribing connection holds (from its
        #: SUBSCRIBE/UNSUBSCRIBE replies; 0 while that connection is down).
        self.redis_channels = 0

    # -- what the server asks -------------------------------------------------------

    def check(self, topic: str, data: "str | bytes") -> None:
        """Raise ValueError if this publish is too large for the bus."""
        size = len(topic.encode("utf-8")) + (len(data.encode("utf-8")) if isinstance(data, str) else len(data))
        if size > self.config.max_bus_message:
            raise ValueError("a message published on the bus is at most %d bytes with its topic "
                             "(max_bus_message), got %d" % (self.config.max_bus_message, size))

    def publish(self, topic: str, data: "str | bytes") -> bool:
        """Queue a PUBLISH; False (and counted in ``dropped``) if Redis is
        not reachable now or the output toward it is full."""
        link = self.pub
        seqs = self._next_seq
        seq = seqs.get(topic, 0) + 1
        # The sequence advances even for a dropped message: receivers count it as a gap.
        if seq == 1 and len(seqs) >= self.config.max_tracked_sequences:
            del seqs[next(iter(seqs))]
        seqs[topic] = seq
        if link.state != UP:
            self.stats.dropped += 1
            return False
        body = envelope.pack(self.origin, seq, data)
        cmd = command(self._publish_cmd, self._prefix + topic.encode("utf-8"), body)
        if len(link.out) + len(cmd) > self.config.max_redis_output:
            self.stats.dropped += 1
            return False
        link.out += cmd
        link.replies.append(_PUBLISH)
        self.stats.published += 1
        return True

    def interest(self, topic: str, present: bool, now: float) -> None:
        """The first local subscriber of ``topic`` joined (or the last left)."""
        if present:
            if self._leaving.pop(topic, None) is not None:
                return  # still subscribed: the grace period saved a round trip
            if topic not in self._wanted:
                self._wanted.add(topic)
                if self.sub.state == UP:
                    self.sub.out += command(self._subscribe_cmd, self._prefix + topic.encode("utf-8"))
        elif topic in self._wanted:
            self._leaving[topic] = now + self.config.unsubscribe_grace

    @property
    def channels(self) -> int:
        """How many topics this server holds a channel for."""
        return len(self._wanted)

    # -- what the driver asks ---------------------------------------------------------

    def links(self) -> tuple[Link, Link]:
        return self.pub, self.sub

    @property
    def ready(self) -> bool:
        """Both Redis connections are up."""
        return self.pub.state == UP and self.sub.state == UP

    def due_connects(self, now: float) -> list[Link]:
        """The links to connect now (each marked CONNECTING)."""
        due = []
        for link in (self.pub, self.sub):
            if link.state == DOWN and link.retry_at <= now:
                link.state = CONNECTING
                link.deadline = now + self.config.connect_timeout
                due.append(link)
        return due

    def next_deadline(self) -> float:
        """When ``tick`` (or ``due_connects``) has something to do next."""
        when = float("inf")
        for link in (self.pub, self.sub):
            if link.state == DOWN:
                when = min(when, link.retry_at)
            elif link.state == CONNECTING:
                when = min(when, link.deadline)
        if self._leaving:
            when = min(when, min(self._leaving.values()))
        return when

    def tick(self, now: float) -> list[Link]:
        """Unsubscribe the channels whose grace period ended; return the
        links whose connection attempt timed out (the driver closes
        their sockets; they are already DOWN here)."""
        if self._leaving:
            done = [t for t, when in self._leaving.items() if when <= now]
            for topic in done:
                del self._leaving[topic]
                self._wanted.discard(topic)
                self._seen.pop(topic, None)
                if self.sub.state == UP:
                    self.sub.out += command(self._unsubscribe_cmd, self._prefix + topic.encode("utf-8"))
        expired = []
        for link in (self.pub, self.sub):
            if link.state == CONNECTING and link.deadline <= now:
                self.connection_lost(link, now, "connection attempt timed out")
                expired.append(link)
        return expired

    def connected(self, link: Link, now: float) -> None:
        """The link's TCP connection is up: greet Redis, resubscribe."""
        link.state = UP
        link.reader = hiredis.Reader()
        link.out.clear()
        link.replies.clear()
        self.stats.connects += 1
        if link.ever_up:
            log.info("Redis %s connection to %s:%d re-established", link.name,
                     self.config.host, self.config.port)
        link.ever_up = True
        config = self.config
        if config.password is not None:
            args = [b"AUTH"] + ([config.username.encode()] if config.username else []) + [config.password.encode()]
            link.out += command(*args)
            link.replies.append(_AUTH)
        if link is self.sub:
            wanted = [self._prefix + t.encode("utf-8") for t in self._wanted]
            # Sharded: one channel per command (several must share a hash slot).
            batch = 1 if config.sharded else SUBSCRIBE_BATCH
            for i in range(0, len(wanted), batch):
                link.out += command(self._subscribe_cmd, *wanted[i:i + batch])

    def connection_lost(self, link: Link, now: float, reason: object) -> None:
        """The link's connection failed or ended; retry after a backoff."""
        was_up = link.state == UP
        link.state = DOWN
        if link is self.sub:
            self.redis_channels = 0
        link.reader = None
        link.out.clear()
        unconfirmed = sum(1 for kind in link.replies if kind == _PUBLISH)
        link.replies.clear()
        self.stats.unconfirmed += unconfirmed
        delay = link.backoff.next_delay()
        assert delay is not None  # no max_attempts: never gives up
        link.retry_at = now + delay
        if was_up:
            self.stats.disconnects += 1
            what = ("messages published by other servers until it is back are lost (counted in gaps)"
                    if link is self.sub else
                    "%d publishes unconfirmed; publishes are dropped until it is back" % unconfirmed)
            self._report("lost the Redis %s connection to %s:%d (%s); %s; retrying in %.2fs"
                         % (link.name, self.config.host, self.config.port, reason, what, delay))
        elif link.backoff.attempts in (1, 10) or link.backoff.attempts % 100 == 0:
            # Not every failed retry: the first, then now and then.
            self._report("cannot reach Redis at %s:%d for the %s connection (%s; attempt %d); "
                         "retrying in %.2fs" % (self.config.host, self.config.port, link.name,
                                                reason, link.backoff.attempts, delay))

    def pending(self, link: Link) -> bytearray:
        """Bytes to write on ``link`` (report what was written with ``consumed``)."""
        return link.out

    def consumed(self, link: Link, count: int) -> None:
        del link.out[:count]

    def feed(self, link: Link, data: bytes, now: float) -> list[tuple[str, "str | bytes"]]:
        """Bytes read from ``link``; returns (topic, message) pairs to
        deliver to local subscribers. Raises hiredis.ProtocolError on a
        broken stream (the driver then drops the connection)."""
        reader = link.reader
        reader.feed(data)
        out: list[tuple[str, str | bytes]] = []
        while True:
            reply = reader.gets()
            if reply is False:
                return out
            if link is self.sub and type(reply) is list:
                if len(reply) == 3 and reply[0] in _MESSAGE:
                    self._on_message(reply[1], reply[2], out)
                elif len(reply) == 3 and reply[0] in _SUBSCRIPTION:
                    self.redis_channels = reply[2]  # Redis's count for this connection
                    link.backoff.reset()  # Redis answers: this connection works
                continue
            kind = link.replies.popleft() if link.replies else None
            if isinstance(reply, hiredis.ReplyError):
                self._report("Redis %s connection: error reply %s" % (link.name, reply))
            elif kind == _PUBLISH:
                link.backoff.reset()  # Redis answers: this connection works

    def _on_message(self, channel: bytes, raw: bytes, out: list[tuple[str, "str | bytes"]]) -> None:
        try:
            origin, seq, message = envelope.unpack(raw)
            topic = channel[len(self._prefix):].decode("utf-8")
        except (envelope.EnvelopeError, UnicodeDecodeError):
            self.stats.malformed += 1
            return
        if origin == self.origin:
            self.stats.echoes += 1
            return
        seen = self._seen.get(topic)
        if seen is None:
            if len(self._seen) >= self.config.max_tracked_sequences:
                del self._seen[next(iter(self._seen))]
            seen = self._seen[topic] = {}
        last = seen.get(origin, 0)
        if last and seq > last + 1:
            self.stats.gaps += seq - last - 1
        seen[origin] = seq  # a smaller number: that publisher restarted its count
        self.stats.received += 1
        out.append((topic, message))

    def _report(self, text: str) -> None:
        log.warning("%s", text)
        on_error = self.config.on_error
        if on_error is not None:
            try:
                on_error(BusError(text))
            except Exception:
                log.exception("bus on_error handler raised")
