"""Topics: which connections subscribe to what, shared by the drivers.

The registry maps each topic to the set of its subscribers, and each
connection to its topics, kept on the connection in the smallest form
that fits (see TopicRegistry), so a connection without topics pays one
empty slot and a subscription about 50 bytes.
A topic with no subscriber left is forgotten. What a publish costs is the
drivers' business: they encode once (``PreparedMessage``) and write
through their broadcast path, with its backpressure rules.
"""

from typing import Any, Callable, Collection

#: Longest topic name accepted, in UTF-8 bytes.
MAX_TOPIC_LENGTH = 256
#: Most topics one connection may subscribe to.
MAX_TOPICS_PER_CONNECTION = 1024


class TopicError(ValueError):
    """A topic name or a subscription that breaks a limit."""


# Small collections cost little: one item is kept as itself, a few in a
# tuple, more in a set (a set costs over 200 bytes even for one item).
_TOPICS_IN_TUPLE = 64  # a connection's topics
_MEMBERS_IN_TUPLE = 16  # a topic's subscribers


def _has(held: Any, item: Any) -> bool:
    kind = type(held)
    return item in held if kind is tuple or kind is set else held is item or held == item


def _with(held: Any, item: Any, most: int) -> Any:
    """``held`` (None, one item, a tuple or a set) with ``item`` added."""
    if held is None:
        return item
    kind = type(held)
    if kind is set:
        held.add(item)
        return held
    if kind is not tuple:
        return (held, item)
    return held + (item,) if len(held) < most else set(held + (item,))


def _without(held: Any, item: Any, most: int) -> Any:
    """``held`` with ``item`` (which it holds) removed."""
    kind = type(held)
    if kind is set:
        held.discard(item)
        return tuple(held) if len(held) <= most else held
    if kind is tuple:
        rest = tuple(x for x in held if x is not item and x != item)
        return rest[0] if len(rest) == 1 else rest
    return None


def _items(held: Any) -> Collection[Any]:
    kind = type(held)
    return () if held is None else held if kind is tuple or kind is set else (held,)


class TopicRegistry:
    """Subscriptions of many connections. A member is any hashable object
    with a ``_topics`` attribute, which the registry owns. Both sides are
    kept small: a connection's topics and a topic's subscribers are each
    one item, a tuple of a few, or a set of many."""

    __slots__ = ("_subscribers", "max_topic_length", "max_topics_per_connection", "on_change")

    def __init__(self, max_topic_length: int = MAX_TOPIC_LENGTH,
                 max_topics_per_connection: int = MAX_TOPICS_PER_CONNECTION) -> None:
        if max_topic_length < 1 or max_topics_per_connection < 1:
            raise ValueError("topic limits must be at least 1")
        self._subscribers: dict[str, Any] = {}  # topic -> member, tuple or set of members
        self.max_topic_length = max_topic_length
        self.max_topics_per_connection = max_topics_per_connection
        #: Called as on_change(topic, True) when a topic gains its first
        #: subscriber and on_change(topic, False) when it loses its last.
        self.on_change: Callable[[str, bool], Any] | None = None

    def check(self, topic: object) -> None:
        """Raise TypeError or TopicError unless ``topic`` is a valid name."""
        self._check(topic)

    def _check(self, topic: object) -> None:
        if type(topic) is not str:
            raise TypeError("a topic is a str, not %s" % type(topic).__name__)
        if not topic or len(topic.encode("utf-8")) > self.max_topic_length:
            raise TopicError("a topic is 1 to %d bytes of UTF-8 (max_topic_length), got %r"
                             % (self.max_topic_length, topic[:40]))

    def subscribe(self, member: Any, topic: str) -> bool:
        """True if ``member`` was not subscribed to ``topic`` and now is."""
        self._check(topic)
        mine = member._topics
        if mine is not None:
            if _has(mine, topic):
                return False
            if len(_items(mine)) >= self.max_topics_per_connection:
                raise TopicError("a connection may subscribe to at most %d topics "
                                 "(max_topics_per_connection)" % self.max_topics_per_connection)
        member._topics = _with(mine, topic, _TOPICS_IN_TUPLE)
        table = self._subscribers
        held = table.get(topic)
        table[topic] = _with(held, member, _MEMBERS_IN_TUPLE)
        if held is None and self.on_change is not None:
            self.on_change(topic, True)
        return True

    def unsubscribe(self, member: Any, topic: str) -> bool:
        """True if ``member`` was subscribed to ``topic`` and no longer is."""
        self._check(topic)
        mine = member._topics
        if mine is None or not _has(mine, topic):
            return False
        member._topics = _without(mine, topic, _TOPICS_IN_TUPLE)
        self._drop(member, topic)
        return True

    def unsubscribe_all(self, member: Any) -> None:
        """Forget every subscription of a member (its connection ended)."""
        mine = member._topics
        if mine is None:
            return
        member._topics = None
        for topic in tuple(_items(mine)):
            self._drop(member, topic)

    def _drop(self, member: Any, topic: str) -> None:
        table = self._subscribers
        rest = _without(table[topic], member, _MEMBERS_IN_TUPLE)
        if rest is None or rest == ():
            del table[topic]
            if self.on_change is not None:
                self.on_change(topic, False)
        else:
            table[topic] = rest

    def subscribers(self, topic: str) -> list[Any]:
        """The members subscribed to ``topic`` (a new list)."""
        return list(_items(self._subscribers.get(topic)))

    def members(self, topic: object) -> Collection[Any]:
        """The members subscribed to ``topic``, for one publish: a tuple
        (the registry's own when it keeps one, immutable) or a new list, so
        safe to iterate while subscriptions change. Empty for a topic without
        subscribers and for a name that is no topic: a publisher checks
        those (``check``); one with subscribers was checked when they came."""
        held = self._subscribers.get(topic) if type(topic) is str else None
        if held is None:
            return ()
        kind = type(held)
        return held if kind is tuple else list(held) if kind is set else (held,)

    def count(self, topic: str) -> int:
        return len(_items(self._subscribers.get(topic)))

    def topics(self) -> list[str]:
        """The topics that have at least one subscriber (a new list)."""
        return list(self._subscribers)

    def __len__(self) -> int:
        """How many topics have at least one subscriber."""
        return len(self._subscribers)


def topics_of(member: Any) -> frozenset[str]:
    """A member's topics, as a frozenset (empty when it has none)."""
    return frozenset(_items(member._topics))
