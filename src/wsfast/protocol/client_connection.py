"""Client side of the connection: the upgrade request, then ``protocol``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..constants import CLOSE_ABNORMAL
from ..errors import HandshakeError, InvalidState
from .events import CLOSED, CONNECTING, HandshakeFailed, Open
from .extensions import DEFAULT_OFFER, DeflateParams, accept_deflate_response, deflate_offer
from .handshake import build_request, check_response
from .connection import Connection
from .http import ResponseReader

if TYPE_CHECKING:
    from ..codec.prepared import PreparedMessage
    from .events import EventType
    from .http import Response


class ClientConnection(Connection):
    """``connect()`` queues the upgrade request; the response then opens
    the connection (``Open``) or fails it (``HandshakeFailed``).

    ``compression``: True offers permessage-deflate with defaults (a bare
    ``client_max_window_bits``), False offers nothing, or pass a
    ``DeflateParams`` offer.
    """

    __slots__ = (
        "_key", "_reader", "extra_headers", "host", "offer", "offered_subprotocols",
        "origin", "path", "port", "response", "secure",
    )

    is_server = False

    def __init__(
        self,
        host: str,
        port: int | None = None,
        path: str = "/",
        *,
        secure: bool = False,
        subprotocols: Iterable[str] = (),
        compression: bool | DeflateParams | None = True,
        extra_headers: Iterable[tuple[str, str]] = (),
        origin: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.host, self.port, self.path, self.secure = host, port, path, secure
        self.offered_subprotocols = list(subprotocols)
        self.offer = DEFAULT_OFFER if compression is True else (compression or None)
        self.extra_headers = list(extra_headers)
        self.origin = origin
        self.response: Response | None = None
        self._reader = ResponseReader()
        self._key: str | None = None

    def send_prepared(self, prepared: PreparedMessage, plain: bytes | None = None) -> None:
        """Refused: prepared messages are for servers (a client masks each frame)."""
        raise InvalidState("prepared messages are for servers (clients mask each frame)")

    def connect(self) -> None:
        """Queue the upgrade request."""
        if self._key is not None:
            raise InvalidState("connect() was already called")
        request, self._key = build_request(
            self.host,
            self.port,
            self.path,
            secure=self.secure,
            subprotocols=self.offered_subprotocols,
            extensions=deflate_offer(self.offer) if self.offer else None,
            extra_headers=self.extra_headers,
            origin=self.origin,
        )
        self._queue(request)

    def _receive_handshake(self, data: bytes | bytearray | memoryview) -> list[EventType]:
        if self._key is None:
            raise InvalidState("connect() first")
        try:
            response = self._reader.feed(data)
            if response is None:
                return []
            self.response = response
            rest = self._reader.remaining
            subprotocol, ext_values = check_response(response, self._key, self.offered_subprotocols, body=rest)
            deflate = accept_deflate_response(ext_values, self.offer)
        except HandshakeError as exc:
            self.handshake_error = exc
            self.ready_state = CLOSED
            self.should_close = True
            self.close_code = CLOSE_ABNORMAL
            return [HandshakeFailed(getattr(exc, "status", None), exc.reason)]
        ext_header = ", ".join(ext_values) if ext_values else None
        self._open(subprotocol, ext_header, deflate)
        events: list[EventType] = [Open(subprotocol, ext_header)]
        if rest:
            events += self._receive_frames(rest)
        return events
