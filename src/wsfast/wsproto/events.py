"""``wsproto.events``, built cheaply.

wsproto's events are frozen dataclasses; building one costs several times
a plain object. These are plain classes with ``__slots__`` and the same
constructor (fields in the same order, positional or keyword, the same
defaults), attributes, equality, hash and repr. They are not frozen:
assigning an attribute works instead of raising. The data messages, built
for every message sent or received, take their fields and constructor
from the compiled ``_records`` when it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from .._twins import optional_extension

if TYPE_CHECKING:
    from .extensions import Extension
    from .typing import Headers


class Event:
    """Base class of every event."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined,unused-ignore]

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join("%s=%r" % (name, getattr(self, name)) for name in self._fields)
        return "%s(%s)" % (self.__class__.__name__, fields)


class Request(Event):
    """A client's upgrade request (received by a server, sent by a client)."""

    __slots__ = ("host", "target", "extensions", "extra_headers", "subprotocols")
    _fields = __slots__

    def __init__(
        self,
        host: str,
        target: str,
        extensions: Sequence[Extension] | Sequence[str] | None = None,
        extra_headers: Headers | None = None,
        subprotocols: list[str] | None = None,
    ) -> None:
        self.host = host
        self.target = target
        self.extensions = [] if extensions is None else extensions
        self.extra_headers = [] if extra_headers is None else extra_headers
        self.subprotocols = [] if subprotocols is None else subprotocols


class AcceptConnection(Event):
    """The server accepts the upgrade (sent by a server, received by a client)."""

    __slots__ = ("subprotocol", "extensions", "extra_headers")
    _fields = __slots__

    def __init__(
        self,
        subprotocol: str | None = None,
        extensions: list[Extension] | None = None,
        extra_headers: Headers | None = None,
    ) -> None:
        self.subprotocol = subprotocol
        self.extensions = [] if extensions is None else extensions
        self.extra_headers = [] if extra_headers is None else extra_headers


class RejectConnection(Event):
    """The server refuses the upgrade with an HTTP response; a body, if
    ``has_body``, follows as ``RejectData`` events."""

    __slots__ = ("status_code", "headers", "has_body")
    _fields = __slots__

    def __init__(self, status_code: int = 400, headers: Headers | None = None,
                 has_body: bool = False) -> None:
        self.status_code = status_code
        self.headers = [] if headers is None else headers
        self.has_body = has_body


class RejectData(Event):
    """A piece of a rejection's body; the last one has ``body_finished``."""

    __slots__ = ("data", "body_finished")
    _fields = __slots__

    def __init__(self, data: bytes, body_finished: bool = True) -> None:
        self.data = data
        self.body_finished = body_finished


class CloseConnection(Event):
    """A close frame. Received: the caller must answer with ``response()``
    while the state is REMOTE_CLOSING (nothing is sent automatically)."""

    __slots__ = ("code", "reason")
    _fields = __slots__

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason

    def response(self) -> CloseConnection:
        """The close frame to send back."""
        return CloseConnection(self.code, self.reason)


T = TypeVar("T", bound=Union[bytes, bytearray, str])
_records = optional_extension("wsfast.wsproto._records")

if TYPE_CHECKING or _records is None:
    class _MessageFields:
        """A message's fields (``_records.MessageFields`` when built)."""

        __slots__ = ("data", "frame_finished", "message_finished")

        def __init__(self, data: Any, frame_finished: bool = True,
                     message_finished: bool = True) -> None:
            self.data = data
            self.frame_finished = frame_finished
            self.message_finished = message_finished
else:
    _MessageFields = _records.MessageFields


class Message(_MessageFields, Event, Generic[T]):
    """A piece of a data message: one whole frame here (``frame_finished``
    is always True when received); ``message_finished`` marks the last."""

    __slots__ = ()
    _fields = ("data", "frame_finished", "message_finished")
    data: T

    if TYPE_CHECKING:
        def __init__(self, data: T, frame_finished: bool = True,
                     message_finished: bool = True) -> None: ...


class TextMessage(Message[str]):
    """Text: ``data`` is a ``str``."""

    __slots__ = ()


class BytesMessage(Message[Union[bytes, bytearray]]):
    """Binary: ``data`` is ``bytes``."""

    __slots__ = ()


class Ping(Event):
    """A ping. Received: answer it with ``response()`` (no automatic pong)."""

    __slots__ = ("payload",)
    _fields = __slots__

    def __init__(self, payload: bytes = b"") -> None:
        self.payload = payload

    def response(self) -> Pong:
        """The pong to send back."""
        return Pong(self.payload)


class Pong(Event):
    """A pong."""

    __slots__ = ("payload",)
    _fields = __slots__

    def __init__(self, payload: bytes = b"") -> None:
        self.payload = payload
