"""``wsproto.handshake``: the HTTP/1.1 upgrade, on h11 (as wsproto does).

The handshake runs once per connection; the per-message path is in
``connection``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Sequence
from typing import Any

import h11

from .connection import Connection, ConnectionState, ConnectionType
from .events import AcceptConnection, Event, RejectConnection, RejectData, Request
from .extensions import Extension
from .typing import Headers
from .utilities import (
    LocalProtocolError,
    RemoteProtocolError,
    generate_accept_token,
    generate_nonce,
    normed_header_dict,
    split_comma_header,
)

#: RFC 6455 4.2.1: the only version spoken.
WEBSOCKET_VERSION = b"13"
#: RFC 6455 4.2.1: the Upgrade header's value.
WEBSOCKET_UPGRADE = b"websocket"

_CONNECTING = ConnectionState.CONNECTING
_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_REJECTING = ConnectionState.REJECTING


def _has_upgrade_token(tokens: list[str] | None) -> bool:
    return tokens is not None and any(token.lower() == "upgrade" for token in tokens)


def _refuse(message: str, hint: RejectConnection | None = None) -> RemoteProtocolError:
    return RemoteProtocolError(message, event_hint=hint or RejectConnection())


class H11Handshake:
    """The opening handshake of one connection, client or server."""

    def __init__(self, connection_type: ConnectionType) -> None:
        self.client = connection_type is ConnectionType.CLIENT
        self._type = connection_type
        self._state = _CONNECTING
        self._h11 = h11.Connection(h11.CLIENT if self.client else h11.SERVER)
        self._connection: Connection | None = None
        self._events: deque[Event] = deque()
        self._request: Request | None = None
        self._nonce: bytes | None = None

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connection(self) -> Connection | None:
        """The ``Connection`` once the handshake succeeded, else None."""
        return self._connection

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """Server: start from a request already parsed elsewhere."""
        if self.client:
            raise LocalProtocolError(
                "Cannot initiate an upgrade connection when acting as the client")
        request = h11.Request(method=b"GET", target=path, headers=headers)
        self.receive_data(h11.Connection(h11.CLIENT).send(request))

    def send(self, event: Event) -> bytes:
        """The bytes for a handshake event."""
        if isinstance(event, Request):
            return self._send_request(event)
        if isinstance(event, AcceptConnection):
            return self._send_accept(event)
        if isinstance(event, RejectConnection):
            return self._send_reject(event)
        if isinstance(event, RejectData):
            return self._send_reject_data(event)
        raise LocalProtocolError("Event %r cannot be sent during the handshake" % (event,))

    def receive_data(self, data: bytes | None) -> None:
        """Feed bytes from the peer (None or b"": the transport closed)."""
        self._h11.receive_data(data or b"")
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError:
                raise _refuse("Bad HTTP message") from None
            if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return
            if not self.client:
                if isinstance(event, h11.Request):
                    self._events.append(self._read_request(event))
            elif isinstance(event, h11.InformationalResponse):
                if event.status_code == 101:
                    self._events.append(self._read_accept(event))
                else:
                    self._events.append(RejectConnection(
                        event.status_code, list(event.headers), False))
                    self._state = _CLOSED
            elif isinstance(event, h11.Response):
                self._state = _REJECTING
                self._events.append(RejectConnection(event.status_code, list(event.headers), True))
            elif isinstance(event, h11.Data):
                self._events.append(RejectData(bytes(event.data), False))
            elif isinstance(event, h11.EndOfMessage):
                self._events.append(RejectData(b"", True))
                self._state = _CLOSED

    def pending(self) -> bool:
        """Whether handshake events wait to be read."""
        return bool(self._events)

    def events(self) -> Generator[Event, None, None]:
        """The handshake events received so far."""
        while self._events:
            yield self._events.popleft()

    # -- server ----------------------------------------------------------

    def _read_request(self, event: Any) -> Request:
        if event.method != b"GET":
            raise _refuse("Request method must be GET")
        connection_tokens = None
        extensions: list[str] = []
        subprotocols: list[str] = []
        host = key = version = None
        upgrade = b""
        kept: Headers = []
        for name, value in event.headers:
            name = name.lower()
            if name == b"host":
                host = value.decode("idna")
                continue
            if name == b"sec-websocket-extensions":
                extensions += split_comma_header(value)
                continue
            if name == b"sec-websocket-protocol":
                subprotocols += split_comma_header(value)
                continue
            if name == b"connection":
                connection_tokens = split_comma_header(value)
            elif name == b"sec-websocket-key":
                key = value
            elif name == b"sec-websocket-version":
                version = value
            elif name == b"upgrade":
                upgrade = value
            kept.append((name, value))
        if not _has_upgrade_token(connection_tokens):
            raise _refuse("Missing header, 'Connection: Upgrade'")
        if version != WEBSOCKET_VERSION:
            raise _refuse("Missing header, 'Sec-WebSocket-Version'", RejectConnection(
                426 if version else 400, [(b"Sec-WebSocket-Version", WEBSOCKET_VERSION)]))
        if key is None:
            raise _refuse("Missing header, 'Sec-WebSocket-Key'")
        if upgrade.lower() != WEBSOCKET_UPGRADE:
            raise _refuse("Missing header, 'Upgrade: websocket'")
        if host is None:
            raise _refuse("Missing header, 'Host'")
        self._request = Request(host, event.target.decode("ascii"), extensions, kept, subprotocols)
        return self._request

    def _send_accept(self, event: AcceptConnection) -> bytes:
        request = self._request
        if request is None or self.client or self._state is not _CONNECTING:
            raise LocalProtocolError("AcceptConnection needs a received request")
        key = normed_header_dict(request.extra_headers)[b"sec-websocket-key"]
        headers: Headers = [
            (b"Upgrade", WEBSOCKET_UPGRADE),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(key)),
        ]
        if event.subprotocol is not None:
            if event.subprotocol not in request.subprotocols:
                raise LocalProtocolError("unexpected subprotocol %s" % event.subprotocol)
            headers.append((b"Sec-WebSocket-Protocol", event.subprotocol.encode("ascii")))
        if event.extensions:
            accepted = server_extensions_handshake(request.extensions, event.extensions)  # type: ignore[arg-type]
            if accepted:
                headers.append((b"Sec-WebSocket-Extensions", accepted))
        response = h11.InformationalResponse(
            status_code=101, headers=headers + list(event.extra_headers),
            reason=b"Switching Protocols")
        data = self._h11.send(response) or b""
        self._connection = Connection(self._type, event.extensions)
        self._state = _OPEN
        return data

    def _send_reject(self, event: RejectConnection) -> bytes:
        if self._state is not _CONNECTING:
            raise LocalProtocolError("Connection cannot be rejected in state %s" % self._state)
        headers = list(event.headers)
        if not event.has_body:
            headers.append((b"content-length", b"0"))
        data = self._h11.send(h11.Response(status_code=event.status_code, headers=headers)) or b""
        self._state = _REJECTING
        if not event.has_body:
            data += self._h11.send(h11.EndOfMessage()) or b""
            self._state = _CLOSED
        return data

    def _send_reject_data(self, event: RejectData) -> bytes:
        if self._state is not _REJECTING:
            raise LocalProtocolError("Cannot send rejection data in state %s" % self._state)
        data = self._h11.send(h11.Data(data=event.data)) or b""
        if event.body_finished:
            data += self._h11.send(h11.EndOfMessage()) or b""
            self._state = _CLOSED
        return data

    # -- client ----------------------------------------------------------

    def _send_request(self, request: Request) -> bytes:
        self._request = request
        self._nonce = generate_nonce()
        headers: Headers = [
            (b"Host", request.host.encode("idna")),
            (b"Upgrade", WEBSOCKET_UPGRADE),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", self._nonce),
            (b"Sec-WebSocket-Version", WEBSOCKET_VERSION),
        ]
        if request.subprotocols:
            headers.append((b"Sec-WebSocket-Protocol",
                            ", ".join(request.subprotocols).encode("ascii")))
        offers: dict[str, bool | str] = {}
        for extension in request.extensions:
            assert isinstance(extension, Extension)
            offers[extension.name] = extension.offer()
        values = []
        for name, params in offers.items():
            if params is True:
                values.append(name.encode("ascii"))
            elif params and not isinstance(params, bool):
                values.append(("%s; %s" % (name, params)).encode("ascii"))
        if values:
            headers.append((b"Sec-WebSocket-Extensions", b", ".join(values)))
        upgrade = h11.Request(method=b"GET", target=request.target.encode("ascii"),
                              headers=headers + list(request.extra_headers))
        return self._h11.send(upgrade) or b""

    def _read_accept(self, event: Any) -> AcceptConnection:
        assert self._request is not None and self._nonce is not None
        connection_tokens = None
        accepted: list[str] = []
        accept = subprotocol = None
        upgrade = b""
        kept: Headers = []
        for name, value in event.headers:
            name = name.lower()
            if name == b"connection":
                connection_tokens = split_comma_header(value)
            elif name == b"sec-websocket-extensions":
                accepted = split_comma_header(value)
            elif name == b"sec-websocket-accept":
                accept = value
            elif name == b"sec-websocket-protocol":
                subprotocol = value.decode("ascii")
            elif name == b"upgrade":
                upgrade = value
            else:
                kept.append((name, value))
        if not _has_upgrade_token(connection_tokens):
            raise _refuse("Missing header, 'Connection: Upgrade'")
        if upgrade.lower() != WEBSOCKET_UPGRADE:
            raise _refuse("Missing header, 'Upgrade: websocket'")
        if accept != generate_accept_token(self._nonce):
            raise _refuse("Bad accept token")
        if subprotocol is not None and subprotocol not in self._request.subprotocols:
            raise _refuse("unrecognized subprotocol %s" % subprotocol)
        extensions = client_extensions_handshake(accepted, self._request.extensions)  # type: ignore[arg-type]
        self._connection = Connection(self._type, extensions, self._h11.trailing_data[0])
        self._state = _OPEN
        return AcceptConnection(subprotocol, extensions, kept)

    def __repr__(self) -> str:
        return "%s(client=%s, state=%s)" % (self.__class__.__name__, self.client, self._state)


def server_extensions_handshake(requested: Iterable[str],
                                supported: list[Extension]) -> bytes | None:
    """The Sec-WebSocket-Extensions answer to ``requested`` offers, or None
    when none is accepted. Each supported extension answers the offers
    made for it; its last answer counts."""
    answers: dict[str, bool | bytes] = {}
    for offer in requested:
        name = offer.split(";", 1)[0].strip()
        for extension in supported:
            if extension.name != name:
                continue
            answer = extension.accept(offer)
            if answer is True:
                answers[name] = True
            elif isinstance(answer, str):
                answers[name] = answer.encode("ascii")
    if not answers:
        return None
    values = []
    for name, params in answers.items():
        encoded = name.encode("ascii")
        values.append(encoded + b"; " + params if isinstance(params, bytes) and params else encoded)
    return b", ".join(values)


def client_extensions_handshake(accepted: Iterable[str],
                                supported: Sequence[Extension]) -> list[Extension]:
    """The offered extensions the server accepted, finalized; an answer
    naming one not offered is a RemoteProtocolError."""
    extensions = []
    for answer in accepted:
        name = answer.split(";", 1)[0].strip()
        for extension in supported:
            if extension.name == name:
                extension.finalize(answer)
                extensions.append(extension)
                break
        else:
            raise _refuse("unrecognized extension %s" % name)
    return extensions
