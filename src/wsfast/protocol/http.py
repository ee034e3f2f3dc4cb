"""HTTP/1.1 message heads for the opening handshake (sans-I/O).

llhttp (through httptools) validates the syntax. The readers stop at the
end of the head and hand back every byte after it untouched: on an upgraded
connection those are already WebSocket frames, and on a plain request they
belong to whoever handles the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import httptools

from ..codec import backend as _backend
from ..errors import HandshakeError, InvalidResponse
from .grammar import TOKEN

__all__ = [
    "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_HEADERS",
    "Headers",
    "Request",
    "RequestReader",
    "Response",
    "ResponseReader",
    "check_head_limits",
    "format_headers",
    "read_whole_head",
]

#: Largest request or response head accepted, in bytes, counting the request
#: or status line and the blank line that ends the head. Larger → 431.
DEFAULT_MAX_HEAD_SIZE = 8192
#: Most header lines accepted in one head. More → 431.
DEFAULT_MAX_HEADERS = 100

_TERMINATOR = b"\r\n\r\n"
# The C backend's fast path for a whole request head in one read; it
# declines (None) anything outside a strict subset, errors included, and
# llhttp reads those. The pure-Python backend always declines.
_parse_head = _backend.impl.parse_request_head
# What a fast-path Request makes its target and headers with (tests may
# switch _parse_head off; a head it read must still expand).
_expand_head = _backend.impl.parse_request_head
# Header lines the fast path takes at most (its C limit).
_FAST_FIELDS = 128
_FAST_WEBSOCKET = _backend.impl.UPGRADE_WEBSOCKET
_FAST_OFFERS = _backend.impl.UPGRADE_OFFERS
_OWS = " \t"
# Field values may hold visible ASCII, obs-text, spaces and tabs; CR, LF
# and NUL would let a value start a new header line.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")


class Headers:
    """Header fields in the order received, with case-insensitive lookup.

    Names keep the spelling they arrived with; values are latin-1 strings
    with surrounding whitespace removed. A name may occur several times.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, items: Iterable[tuple[Any, Any]] = ()) -> None:
        self._items: list[tuple[str, str]] | tuple[str, ...] = [(str(n), str(v)) for n, v in items]
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def _from_strings(cls, items: list[tuple[str, str]] | tuple[str, ...]) -> Headers:
        """From a list of ``(name, value)`` str pairs, or a flat tuple
        ``(name, value, ...)`` (the compact form), taken as is."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._index = None
        return headers

    def _pairs(self) -> list[tuple[str, str]]:
        items = self._items
        if isinstance(items, tuple):  # compacted: names and values alternate
            return list(zip(items[::2], items[1::2]))
        return items

    def add(self, name: str, value: str) -> None:
        self._items = self._pairs()
        self._items.append((name, value))
        self._index = None

    def _lookup(self) -> dict[str, list[str]]:
        # Built on first lookup: a handshake looks up about ten names.
        index: dict[str, list[str]] = {}
        for n, v in self._pairs():
            index.setdefault(n.lower(), []).append(v)
        self._index = index
        return index

    def compact(self) -> None:
        """Shrink for a long life: drop the lookup index and keep names and
        values in one flat tuple (a server holds every open connection's
        request; this saves about 60 bytes per header)."""
        self._index = None
        if type(self._items) is not tuple:
            self._items = tuple([x for pair in self._items for x in pair])

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = (self._index or self._lookup()).get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return list((self._index or self._lookup()).get(name.lower(), ()))

    def elements(self, name: str) -> list[str]:
        """The comma-separated list elements of every ``name`` line.

        Repeated lines and comma-joined values are equivalent in HTTP
        (RFC 9110 §5.3); empty elements are dropped as the list syntax allows.
        """
        out: list[str] = []
        for value in (self._index or self._lookup()).get(name.lower(), ()):
            if "," not in value:  # one element: the usual case
                if value:  # already stripped
                    out.append(value)
                continue
            for element in value.split(","):
                element = element.strip(_OWS)
                if element:
                    out.append(element)
        return out

    def tokens(self, name: str) -> list[str]:
        """Like :meth:`elements`, lowercased: for Connection, Upgrade..."""
        return [e.lower() for e in self.elements(name)]

    def has_token(self, name: str, token: str) -> bool:
        """``token`` (lowercase) is among :meth:`tokens` of ``name``."""
        for value in (self._index or self._lookup()).get(name.lower(), ()):
            value = value.lower()
            if value == token or (token in value and token in self._split_lower(value)):
                return True
        return False

    @staticmethod
    def _split_lower(value: str) -> list[str]:
        return [element.strip(_OWS) for element in value.split(",")]

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """``[(name, value), ...]`` as bytes, names lowercased, for ASGI."""
        return [
            (n.lower().encode("latin-1"), v.encode("latin-1"))
            for n, v in self._pairs()
        ]

    def __contains__(self, name: str) -> bool:
        return name.lower() in (self._index or self._lookup())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs())

    def __len__(self) -> int:
        return len(self._pairs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._pairs() == other._pairs()
        return NotImplemented

    def __repr__(self) -> str:
        return "Headers(%r)" % (self._pairs(),)


def format_headers(headers: Iterable[tuple[str, Any]]) -> bytes:
    """Serialize ``(name, value)`` pairs as header lines, CRLF-terminated.

    Raises ValueError for a name that is not a token or a value holding a
    control character, so that caller-supplied headers cannot inject lines.
    """
    lines = []
    for name, value in headers:
        value = str(value)
        if not TOKEN.fullmatch(name):
            raise ValueError("invalid header name: %r" % (name,))
        if not _FIELD_VALUE.match(value):
            raise ValueError("invalid value for header %s: %r" % (name, value))
        lines.append("%s: %s\r\n" % (name, value.strip(_OWS)))
    return "".join(lines).encode("latin-1")


class Request:
    """A parsed request head.

    ``target`` is the request-target as sent; ``raw_path`` its path (bytes,
    still percent-encoded, as ASGI's ``raw_path``), ``path`` the decoded path
    and ``query_string`` the bytes after ``?``. ``http_version`` is a string
    such as ``"1.1"``.

    A head read by the C fast path keeps its bytes and makes ``target``
    and ``headers`` when first asked (most handshakes never ask: the
    fast path has already checked the upgrade and found its key), and
    ``raw_path``, ``path`` and ``query_string`` are split from the target
    when first asked. Each of them may also be set.
    """

    __slots__ = (
        "method",
        "http_version",
        "_target",
        "_headers",
        "_raw_path",
        "_path",
        "_query_string",
        "_head",
        "_websocket",
        "_upgrade_key",
        "_offers",
    )

    def __init__(self, method: str, target: str, http_version: str, headers: Headers) -> None:
        self._websocket: bool | None = None
        # The Sec-WebSocket-Key when the C fast path already ran every
        # check of handshake.check_request, else None.
        self._upgrade_key: str | None = None
        # False when the fast path saw no Sec-WebSocket-Protocol and no
        # Sec-WebSocket-Extensions line: nothing to negotiate.
        self._offers = True
        self.method = method
        self.http_version = http_version
        self._target: str | None = target
        self._headers: Headers | None = headers
        self._head: bytes | None = None  # a fast-path head not yet made into target and headers
        self._raw_path: bytes | None = None  # None: not split from the target yet
        self._path = ""
        self._query_string = b""

    def _expand(self) -> None:
        # The head passed the fast path once: it does again, with the same lines.
        head = self._head
        assert head is not None
        fast = _expand_head(head, len(head), _FAST_FIELDS)
        assert fast is not None
        self._target = fast[0]
        self._headers = Headers._from_strings(fast[1])
        self._head = None

    def _split(self) -> None:
        self._raw_path, self._query_string = _split_target(self.target)
        path = self._raw_path.decode("latin-1")
        self._path = unquote(path) if "%" in path else path

    @property
    def target(self) -> str:
        if self._target is None:
            self._expand()
        return self._target  # type: ignore[return-value]  # set by _expand

    @target.setter
    def target(self, value: str) -> None:
        if self._head is not None:
            self._expand()
        self._target = value
        self._raw_path = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._expand()
        return self._headers  # type: ignore[return-value]  # set by _expand

    @headers.setter
    def headers(self, value: Headers) -> None:
        if self._head is not None:
            self._expand()
        self._headers = value

    @property
    def raw_path(self) -> bytes:
        if self._raw_path is None:
            self._split()
        return self._raw_path  # type: ignore[return-value]  # set by _split

    @raw_path.setter
    def raw_path(self, value: bytes) -> None:
        if self._raw_path is None:
            self._split()
        self._raw_path = value

    @property
    def path(self) -> str:
        if self._raw_path is None:
            self._split()
        return self._path

    @path.setter
    def path(self, value: str) -> None:
        if self._raw_path is None:
            self._split()
        self._path = value

    @property
    def query_string(self) -> bytes:
        if self._raw_path is None:
            self._split()
        return self._query_string

    @query_string.setter
    def query_string(self, value: bytes) -> None:
        if self._raw_path is None:
            self._split()
        self._query_string = value

    def _compact(self) -> None:
        """Shrink for a long life (see Headers.compact); a head not yet
        made into headers is already compact."""
        if self._headers is not None:
            self._headers.compact()

    @property
    def is_websocket(self) -> bool:
        """True when the request asks to upgrade to WebSocket.

        It may still be an invalid handshake; see ``handshake.check_request``.
        """
        if self._websocket is None:  # asked several times per handshake
            self._websocket = self.headers.has_token("upgrade", "websocket")
        return self._websocket

    def __repr__(self) -> str:
        return "<Request %s %s HTTP/%s>" % (
            self.method,
            self.target,
            self.http_version,
        )


class Response:
    """A parsed response head: ``status`` (int), ``reason``, ``headers``."""

    __slots__ = ("status", "reason", "http_version", "headers")

    def __init__(self, status: int, reason: str, http_version: str, headers: Headers) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers

    def __repr__(self) -> str:
        return "<Response %d %s>" % (self.status, self.reason)


def _split_target(target: str) -> tuple[bytes, bytes]:
    """(raw_path, query_string) of a request-target, as bytes."""
    if target.startswith("/"):
        if "?" not in target and "#" not in target:  # the usual case: a bare path
            return target.encode("latin-1"), b""
        path, _, query = target.partition("#")[0].partition("?")
    elif "://" in target:  # absolute-form, as sent to proxies
        parts = urlsplit(target)
        path, query = parts.path or "/", parts.query
    else:  # authority-form (CONNECT) or "*" (OPTIONS): no path to split
        path, query = target, ""
    return path.encode("latin-1"), query.encode("latin-1")


class _SyntaxOnly:
    """llhttp callbacks for checking a head that has not ended yet: none
    for the target, status or fields, so that httptools keeps no pieces of
    them (a stalled head costs the bytes in the buffer, not several times
    that in parsed pieces)."""

    __slots__ = ()

    def on_headers_complete(self) -> None:
        # This parser only sees bytes without a blank line: unreachable
        # with a strict llhttp; refuse rather than guess (400).
        raise ValueError("unexpected end of head")


class _HeadReader:
    """Shared machinery: find the end of the head, let llhttp check it.

    llhttp reports where a head ends only for upgrades, and on a plain
    request it would go on to consume the body. Since llhttp insists on CRLF
    line endings and header values cannot hold CR or LF, the first blank
    line (CRLF CRLF) ends the head: llhttp is fed exactly up to there, so it
    never sees what follows.

    Two parsers, so that a head that has not ended costs only its bytes:
    the parser that collects the fields (``_parser``) is fed only complete
    heads, usually all at once. A head split across reads is also fed,
    as it arrives, to a parser that keeps nothing (``_checker``), so that
    garbage is still refused at once rather than when the head ends.
    """

    _kind = "head"

    def __init__(self, parser_class: Any, max_head_size: int, max_headers: int) -> None:
        check_head_limits(max_head_size, max_headers)
        self.max_head_size = max_head_size
        self.max_headers = max_headers
        self._parser_class = parser_class
        self._parser: Any = None  # created when a head has ended
        self._checker: Any = None  # created when a read ends inside a head
        self._buf = bytearray()
        self._fed = 0  # bytes of _buf given to _parser
        self._checked = 0  # bytes of _buf given to _checker
        self._scan = 0  # where to resume looking for the terminator
        self._url: list[bytes] = []
        self._status: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._headers_done = False
        self._message_done = False
        self._done = False
        #: Bytes received after the end of the head, kept exactly.
        self.remaining = b""

    # llhttp callbacks (httptools joins split header names and values)

    def on_url(self, data: bytes) -> None:
        self._url.append(data)

    def on_status(self, data: bytes) -> None:
        self._status.append(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_message_complete(self) -> None:
        self._message_done = True

    def _error(self, status: int, reason: str) -> NoReturn:
        raise NotImplementedError

    def _feed(self, data: bytes | bytearray | memoryview) -> bool:
        """Consume ``data``; True once the whole head has been read."""
        if self._done:
            raise RuntimeError("the head was already read; use .remaining")
        buf = self._buf
        buf += data
        while True:
            end = buf.find(_TERMINATOR, self._scan)
            if end < 0:
                if len(buf) >= self.max_head_size:
                    # The head needs at least one more byte: too large.
                    self._error(431, "%s head too large" % self._kind)
                self._scan = max(0, len(buf) - len(_TERMINATOR) + 1)
                self._check(len(buf))
                return False
            end += len(_TERMINATOR)
            if end > self.max_head_size:
                self._error(431, "%s head too large" % self._kind)
            self._scan = end
            self._execute(end)
            if self._headers_done:
                self._done = True
                self._checker = None
                self.remaining = bytes(buf[end:])
                del buf[:]
                return True
            # Blank lines before the request line: keep looking.

    def _execute(self, end: int) -> None:
        """Feed the collecting parser up to ``end``, the end of a blank line."""
        if end > self._fed:
            if self._parser is None:
                self._parser = self._parser_class(self)
            # A copy (the head is at most max_head_size bytes): cheaper
            # than a memoryview that must be released again.
            chunk = self._buf[self._fed : end]
            self._fed = end
            try:
                self._parser.feed_data(chunk)
            except httptools.HttpParserUpgrade:
                pass  # llhttp stopped at the end of an upgrade head
            except httptools.HttpParserError as exc:
                # Once the message is complete only the upgrade pause can
                # follow: nothing after the head was fed.
                if not self._message_done:
                    self._malformed(exc)
        if len(self._headers) > self.max_headers:
            self._error(431, "too many %s headers" % self._kind)

    def _check(self, end: int) -> None:
        """Check the syntax of the unfinished head up to ``end``."""
        if end > self._checked:
            checker = self._checker
            if checker is None:
                checker = self._checker = self._parser_class(_SyntaxOnly())
            chunk = self._buf[self._checked : end]
            self._checked = end
            try:
                checker.feed_data(chunk)
            except httptools.HttpParserError as exc:
                self._malformed(exc)

    def _malformed(self, exc: Exception) -> NoReturn:
        reason = str(exc) or type(exc).__name__
        self._error(400, "malformed HTTP message: %s" % reason)

    def _make_headers(self) -> Headers:
        items = []
        for pair in self._headers:
            name, value = pair
            items.append((name.decode("latin-1"), value.decode("latin-1").strip(_OWS)))
        return Headers._from_strings(items)


class RequestReader(_HeadReader):
    """Read a request head incrementally.

    ``feed(data)`` returns the :class:`Request` once its head is complete,
    else None; after that, ``remaining`` holds the bytes that followed the
    head. Raises HandshakeError: 431 beyond ``max_head_size`` bytes or
    ``max_headers`` header lines, 400 for a malformed head or a WebSocket
    upgrade request carrying a body.
    """

    def __init__(
        self,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        super().__init__(httptools.HttpRequestParser, max_head_size, max_headers)

    _kind = "request"

    def _error(self, status: int, reason: str) -> NoReturn:
        raise HandshakeError(status, reason)

    def feed(self, data: bytes | bytearray | memoryview) -> Request | None:
        if not self._buf and not self._done:
            # Usually the whole head comes in one read: try the fast path.
            fast = read_whole_head(data, self.max_head_size, self.max_headers)
            if fast is not None:
                self._done = True
                request, self.remaining = fast
                return request
        if not self._feed(data):
            return None
        parser, self._parser = self._parser, None  # break the cycle: freed at once, not by the GC
        request = Request(
            parser.get_method().decode("ascii"),
            b"".join(self._url).decode("latin-1"),
            parser.get_http_version(),
            self._make_headers(),
        )
        if request.is_websocket and _has_body(request.headers):
            raise HandshakeError(400, "upgrade request must not have a body")
        return request


def read_whole_head(data: bytes | bytearray | memoryview, max_head_size: int,
                    max_headers: int) -> tuple[Request, bytes] | None:
    """The C fast path alone: ``(request, bytes after its head)`` when
    ``data`` starts with a whole request head in its strict subset, else
    None (a RequestReader then reads it, with every check and status).
    A server tries this on a connection's first read before it builds a
    RequestReader, which most connections then never need."""
    # Checked, and the key found, but no str made for the target or the
    # header lines: the Request makes them if they are asked for.
    fast = _parse_head(data, max_head_size, max_headers, False)
    if fast is None:
        return None
    # A GET, HTTP/1.1, origin-form target, no Content-Length or
    # Transfer-Encoding (so no body): what the fast path accepts.
    head_len, upgrade = fast[2], fast[3]
    whole = head_len == len(data)  # usually nothing follows the head: no slices
    request = Request.__new__(Request)
    request.method = "GET"
    request.http_version = "1.1"
    request._target = request._headers = request._raw_path = None
    request._path = ""
    request._query_string = b""
    request._head = bytes(data) if whole else bytes(data[:head_len])
    request._websocket = bool(upgrade & _FAST_WEBSOCKET)
    request._upgrade_key = fast[4]
    request._offers = bool(upgrade & _FAST_OFFERS)
    return request, (b"" if whole else bytes(data[head_len:]))


def check_head_limits(max_head_size: int, max_headers: int) -> None:
    """ValueError for limits no head can meet."""
    if max_head_size < len(_TERMINATOR) or max_headers < 0:
        raise ValueError("limits too small")


def _has_body(headers: Headers) -> bool:
    # llhttp has already rejected malformed or conflicting Content-Length.
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length")
    return length is not None and int(length) > 0


class ResponseReader(_HeadReader):
    """Read a response head incrementally, as a client.

    ``feed(data)`` returns the :class:`Response` once its head is complete,
    else None; ``remaining`` then holds the bytes after the head (frames after
    a 101, the start of the body otherwise). Raises InvalidResponse for a
    malformed or oversized head.
    """

    def __init__(
        self,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        super().__init__(httptools.HttpResponseParser, max_head_size, max_headers)

    _kind = "response"

    def _error(self, status: int, reason: str) -> NoReturn:
        raise InvalidResponse(reason)

    def feed(self, data: bytes | bytearray | memoryview) -> Response | None:
        if not self._feed(data):
            return None
        parser, self._parser = self._parser, None  # break the cycle, as above
        return Response(
            parser.get_status_code(),
            b"".join(self._status).decode("latin-1"),
            parser.get_http_version(),
            self._make_headers(),
        )
