"""Server side of the connection: the upgrade handshake, then ``protocol``.

Options:
- ``subprotocols``: a list in the server's preference order, or a
  callable ``(request, offered) -> str | None``.
- ``handshake_hook``: ``(request, remote_address) -> None | True | False |
  Accept | Reject``, or raises HandshakeError; for Origin checks and
  authentication. ``origins=[...]`` installs ``origin_check`` before it.
- ``compression``: True (permessage-deflate with defaults), False, or a
  dict of ``negotiate_deflate`` options.
- ``auto_accept``: when False, a ``Request`` event is reported and the
  driver calls ``accept()`` or ``reject()`` (the ASGI flow). The origin
  check and the hook still run first: a refusal is sent at once, and an
  ``Accept``'s headers and subprotocol are applied by ``accept()``.
- ``max_head_size`` / ``max_headers``: request head limits (431).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from typing import TYPE_CHECKING, Any

from ..constants import CLOSE_ABNORMAL
from ..errors import HandshakeError, InvalidState
from .events import CLOSED, CONNECTING, HandshakeFailed, HttpRequest, Open, Request
from .extensions import negotiate_deflate, parse_extensions
from .handshake import (
    Reject,
    build_rejection,
    build_response,
    check_request,
    normalize_decision,
    origin_check,
    parse_subprotocols,
    select_subprotocol,
)
from .connection import Connection
from .http import DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS, RequestReader, check_head_limits, read_whole_head

if TYPE_CHECKING:
    from .events import EventType
    from .http import Request as RequestHead


#: Bytes kept while waiting for accept()/reject() when no message limit is set.
MAX_PENDING = 1 << 20


class ServerConnection(Connection):

    __slots__ = (
        "_hook_accept", "_key", "_pending", "_reader", "auto_accept", "compression",
        "extra_headers", "handshake_hook", "origin_hook", "remote_address", "request",
        "subprotocols",
    )
    is_server = True

    def __init__(
        self,
        *,
        subprotocols: Iterable[str] | Callable[[RequestHead, list[str]], str | None] | None = None,
        handshake_hook: Callable[[RequestHead, Any], Any] | None = None,
        origins: Iterable[str] | None = None,
        compression: bool | dict[str, Any] | None = True,
        auto_accept: bool = True,
        extra_headers: Iterable[tuple[str, str]] = (),
        remote_address: Any = None,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.subprotocols = subprotocols
        self.origin_hook = origin_check(origins) if origins is not None else None
        self.handshake_hook = handshake_hook
        if compression is True:
            compression = {}
        elif compression is None:
            compression = False  # as on the client: None offers nothing
        # The server's permessage-deflate settings, or False for none.
        self.compression: dict[str, Any] | bool = compression
        self.auto_accept = auto_accept
        # A shared empty tuple when there are none: nothing per connection.
        self.extra_headers: list[tuple[str, str]] | tuple[()] = list(extra_headers) if extra_headers else ()
        self.remote_address = remote_address
        self.request: RequestHead | None = None
        check_head_limits(max_head_size, max_headers)
        # The head's limits until the first read: most heads are read whole
        # by the C fast path, and only the others need a RequestReader.
        # None once the head is read (waiting for accept() or reject()).
        self._reader: RequestReader | tuple[int, int] | None = (max_head_size, max_headers)
        self._key: str | None = None
        # (subprotocol, headers) from hooks; None: nothing from them.
        self._hook_accept: tuple[str | None, list[tuple[str, str]]] | None = None
        self._pending = b""  # frames that arrived before the 101 went out

    def clone(self, remote_address: Any) -> ServerConnection:
        """A new connection with this one's settings, for ``remote_address``.

        ``self`` is a template that never sees a byte: a server builds it
        once from its options, and each accept copies it (a few C field
        copies in the compiled build) instead of parsing the options again.
        """
        new = ServerConnection.__new__(ServerConnection)
        self._copy_state(new)
        new._hook_accept = self._hook_accept
        new._key = self._key
        new._pending = self._pending
        new._reader = self._reader
        new.auto_accept = self.auto_accept
        new.compression = self.compression
        new.extra_headers = self.extra_headers
        new.handshake_hook = self.handshake_hook
        new.origin_hook = self.origin_hook
        new.request = self.request
        new.subprotocols = self.subprotocols
        new.remote_address = remote_address
        return new

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> list[EventType]:
        if self._reader is None:  # waiting for accept() or reject()
            # Bounded: a peer may not park more than one message's worth
            # of bytes on us before the handshake completes.
            if len(self._pending) + len(data) > (self.max_message_size or MAX_PENDING):
                return self._closed_after_handshake(
                    HandshakeFailed(None, "too much data before the handshake completed"))
            self._pending += data
            return []
        reader = self._reader
        request: RequestHead | None
        try:
            if isinstance(reader, tuple):  # the first read
                whole = read_whole_head(data, reader[0], reader[1])
                if whole is not None:
                    request, remaining = whole
                else:
                    reader = self._reader = RequestReader(reader[0], reader[1])
            if not isinstance(reader, tuple):
                request = reader.feed(data)
                remaining = reader.remaining
        except HandshakeError as exc:
            return self._refuse(exc.status, exc.reason, exc.headers)
        if request is None:
            return []
        self.request = request
        self._pending = remaining
        self._reader = None
        if not request.is_websocket:
            return [HttpRequest(request)]
        try:
            # The C fast path may have run these checks already.
            self._key = request._upgrade_key or check_request(request)
        except HandshakeError as exc:
            return self._refuse(exc.status, exc.reason, exc.headers)
        subprotocol, headers = None, []
        try:
            for hook in (self.origin_hook, self.handshake_hook):
                if hook is not None:
                    decision = normalize_decision(hook(request, self.remote_address))
                    if isinstance(decision, Reject):
                        return self.reject(decision.status, decision.headers, decision.body)
                    headers += decision.headers
                    subprotocol = decision.subprotocol or subprotocol
        except HandshakeError as exc:
            return self._refuse(exc.status, exc.reason, exc.headers)
        if subprotocol is not None or headers:
            self._hook_accept = (subprotocol, headers)
        if not self.auto_accept:
            return [Request(request)]
        return self.accept()

    def accept(self, subprotocol: str | None = None, headers: Iterable[tuple[str, str]] = ()) -> list[EventType]:
        """Send the 101 response. ``subprotocol`` overrides the configured
        choice and must be one the client offered. Returns the events that
        data received along with the request completes."""
        request = self.request
        if self.ready_state != CONNECTING or self._key is None or request is None:
            raise InvalidState("no handshake to accept")
        if self._hook_accept is not None:
            hook_subprotocol, hook_headers = self._hook_accept
            if subprotocol is None:
                subprotocol = hook_subprotocol
            headers = hook_headers + list(headers)
        else:
            headers = list(headers)
        try:
            # Nothing offered (as the fast path saw): no subprotocol, no
            # extension, whatever the hooks or the configuration say.
            offered = parse_subprotocols(request.headers) if request._offers else []
            if not offered:
                chosen = None
            elif subprotocol is not None:
                # The application's own choice: it must be one offered (as a
                # selector's, see select_subprotocol). No closure: a compiled
                # method with one allocates its scope at every call.
                if subprotocol not in offered:
                    raise HandshakeError(
                        500, "subprotocol selector chose %r, which was not offered" % subprotocol)
                chosen = subprotocol
            elif self.subprotocols:
                chosen = select_subprotocol(offered, self.subprotocols, request)
            else:
                chosen = None
            ext_header, deflate = None, None
            if isinstance(self.compression, dict) and request._offers:  # else False: no compression
                offers = parse_extensions(request.headers.get_all("Sec-WebSocket-Extensions"))
                agreed = negotiate_deflate(offers, **self.compression)
                if agreed is not None:
                    ext_header, deflate = agreed
            if self.extra_headers:
                headers = list(self.extra_headers) + headers
            response = build_response(self._key, chosen, ext_header, headers)
        except HandshakeError as exc:
            return self._refuse(exc.status, exc.reason, exc.headers)
        self._queue(response)
        request._compact()
        # Handshake-only state, not kept for the connection's life.
        self._key = self._hook_accept = None
        self._open(chosen, ext_header, deflate)
        events: list[EventType] = [Open(chosen, ext_header)]
        pending, self._pending = self._pending, b""
        if pending:
            events += self._receive_frames(pending)
        return events

    def reject(self, status: int = 403, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> list[EventType]:
        """Refuse the handshake with an HTTP response, then close."""
        if self.ready_state != CONNECTING:
            raise InvalidState("no handshake to reject")
        self._queue(build_rejection(status, None, headers, body))
        return self._closed_after_handshake(HandshakeFailed(status, "rejected"))

    def send_http_response(self, response_bytes: bytes) -> None:
        """Answer a plain ``HttpRequest`` with a whole response, then close."""
        self._queue(response_bytes)
        self._closed_after_handshake(None)

    def _refuse(self, status: int | None, reason: str,
                headers: Iterable[tuple[str, str]] = ()) -> list[EventType]:
        body = (reason + "\n").encode("utf-8", "replace")
        # A HandshakeError without a status is still the client's fault.
        self._queue(build_rejection(400 if status is None else status, None, headers, body))
        self.handshake_error = reason
        return self._closed_after_handshake(HandshakeFailed(status, reason))

    def _closed_after_handshake(self, event: HandshakeFailed | None) -> list[EventType]:
        self._reader = None
        self.ready_state = CLOSED
        self.should_close = True
        self.close_code = CLOSE_ABNORMAL
        return [event] if event is not None else []
