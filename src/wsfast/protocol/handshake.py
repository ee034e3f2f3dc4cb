"""The opening handshake rules of RFC 6455 §4, for servers and clients.

Sans-I/O: functions take parsed heads (see ``wsfast.http``) and return
bytes to send or raise :class:`~wsfast.errors.HandshakeError`.
Extension negotiation lives in ``wsfast.extensions``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
import os
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NoReturn

from ..codec import backend as _backend
from ..errors import HandshakeError, InvalidResponse
from .grammar import TOKEN
from .http import format_headers

if TYPE_CHECKING:
    from .http import Headers, Request, Response

__all__ = [
    "Accept",
    "GUID",
    "INTERNAL_ERROR",
    "NOT_FOUND",
    "Reject",
    "SERVER_FULL",
    "SHUTTING_DOWN",
    "UPGRADE_REQUIRED",
    "WEBSOCKET_VERSION",
    "accept_key",
    "build_rejection",
    "build_request",
    "build_response",
    "check_request",
    "check_response",
    "normalize_decision",
    "origin_check",
    "parse_subprotocols",
    "select_subprotocol",
]

#: The GUID RFC 6455 appends to Sec-WebSocket-Key to make Sec-WebSocket-Accept.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: The only Sec-WebSocket-Version RFC 6455 defines.
WEBSOCKET_VERSION = "13"

# A request path: visible ASCII only; percent-encoding is the caller's job.
_PATH = re.compile(r"/[\x21-\x7e]*\Z")
# The handshake and the framing of the response body are ours to set.
_RESERVED_101 = frozenset(
    [
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "content-length",
        "transfer-encoding",
    ]
)
_RESERVED_REJECTION = frozenset(["connection", "content-length", "transfer-encoding"])
# Only this much of a rejected response's body is kept for error reports.
_BODY_EXCERPT = 2048


# Plain-HTTP answers, ``(status, headers, body)``, the same from every
# server driver: a non-upgrade request without an HTTP handler, a handler
# that returned None or raised, a full server, one shutting down.
#: The answer to a plain HTTP request or an unsupported version: (status, headers, body).
UPGRADE_REQUIRED = (426, (("Upgrade", "websocket"), ("Sec-WebSocket-Version", WEBSOCKET_VERSION)),
                    b"WebSocket endpoint: upgrade required\n")
#: A 404 answer (status, headers, body), e.g. for an ``http_handler`` to return.
NOT_FOUND = (404, (), b"not found\n")
#: The answer when a handshake hook or ``http_handler`` raised.
INTERNAL_ERROR = (500, (), b"internal server error\n")
#: The answer past ``max_connections``.
SERVER_FULL = (503, (("Retry-After", "1"),), b"server full, try again later\n")
#: The answer to a handshake that arrives while the server shuts down.
SHUTTING_DOWN = (503, (("Retry-After", "1"),), b"server shutting down\n")


_101_HEAD = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Accept: ")


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    return _accept_bytes(key).decode("ascii")


# SHA-1 and base64 in C with the C backend.
_accept_bytes = _backend.impl.websocket_accept


# Server side


def check_request(request: Request) -> str:
    """Validate a WebSocket upgrade request; return its Sec-WebSocket-Key.

    Raises HandshakeError with the response to send: 405 (with ``Allow:
    GET``) for another method, since HTTP defines that status for a method
    the resource does not support; 426 (with ``Sec-WebSocket-Version: 13``)
    for another protocol version, as RFC 6455 §4.4 asks; 400 otherwise.
    """
    headers = request.headers
    if request.method != "GET":
        raise HandshakeError(405, "method must be GET", [("Allow", "GET")])
    if request.http_version != "1.1" and _version_tuple(request.http_version) < (1, 1):
        raise HandshakeError(400, "HTTP/1.1 or later required")
    hosts = headers.get_all("Host")
    if len(hosts) != 1 or not hosts[0]:
        raise HandshakeError(400, "exactly one Host header required")
    if not request.is_websocket:  # Upgrade holds the token websocket
        raise HandshakeError(400, "Upgrade header must contain websocket")
    if not headers.has_token("Connection", "upgrade"):
        raise HandshakeError(400, "Connection header must contain upgrade")
    if headers.get_all("Sec-WebSocket-Version") != [WEBSOCKET_VERSION]:
        raise HandshakeError(
            426,
            "unsupported WebSocket version",
            [("Sec-WebSocket-Version", WEBSOCKET_VERSION)],
        )
    keys = headers.get_all("Sec-WebSocket-Key")
    if len(keys) != 1 or not _valid_key(keys[0]):
        raise HandshakeError(400, "invalid Sec-WebSocket-Key")
    return keys[0]


def _version_tuple(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


# Base64 of exactly 16 bytes: 22 alphabet characters and "==" (what
# b64decode(validate=True) accepts and decodes to 16 bytes, without its
# Python-level regex and decode per handshake).
_KEY = re.compile(r"[A-Za-z0-9+/]{22}==\Z")


def _valid_key(key: str) -> bool:
    return len(key) == 24 and _KEY.match(key) is not None


def parse_subprotocols(headers: Headers) -> list[str]:
    """Subprotocols offered in Sec-WebSocket-Protocol, in the client's order.

    Repeated and comma-joined headers are merged; names are case-sensitive.
    Raises HandshakeError(400) for a name that is not a token.
    """
    offered = headers.elements("Sec-WebSocket-Protocol")
    for name in offered:
        if not TOKEN.fullmatch(name):
            raise HandshakeError(400, "invalid Sec-WebSocket-Protocol")
    return offered


def select_subprotocol(
    offered: Sequence[str],
    supported: Iterable[str] | Callable[[Any, list[str]], str | None],
    request: Request | None = None,
) -> str | None:
    """Choose the subprotocol to accept, or None.

    ``supported`` is either a list in the server's order of preference (the
    first one the client offered wins) or a callable
    ``supported(request, offered) -> str | None``. A callable that returns a
    subprotocol the client did not offer is a server bug; browsers would
    fail the connection, so HandshakeError(500) is raised instead.
    """
    if not offered:
        return None
    if callable(supported):
        chosen = supported(request, list(offered))
        if chosen is not None and chosen not in offered:
            raise HandshakeError(
                500, "subprotocol selector chose %r, which was not offered" % chosen
            )
        return chosen
    for name in supported:
        if name in offered:
            return name
    return None


def build_response(key: str, subprotocol: str | None = None, extensions: str | None = None,
                   extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The ``101 Switching Protocols`` response accepting a handshake.

    ``key`` is the client's Sec-WebSocket-Key, ``extensions`` an already
    negotiated Sec-WebSocket-Extensions value. ``extra_headers`` may not set
    the handshake headers, Content-Length or Transfer-Encoding (ValueError).
    """
    headers: list[tuple[str, str]] = []
    if subprotocol is not None:
        headers.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    if extra_headers:
        extra_headers = list(extra_headers)
        _refuse_reserved(extra_headers, _RESERVED_101)
        headers.extend(extra_headers)
    # The fixed lines need no checking: the accept key is base64.
    return b"".join((_101_HEAD, _accept_bytes(key), b"\r\n",
                     format_headers(headers) if headers else b"", b"\r\n"))


def build_rejection(status: int, reason: str | None = None,
                    headers: Iterable[tuple[str, str]] = (), body: bytes | str = b"") -> bytes:
    """A complete response refusing the handshake; the connection then closes.

    ``reason`` defaults to the standard phrase. Content-Length and
    ``Connection: close`` are always set (so ``headers`` may not set them);
    a non-empty ``body`` (bytes, or str sent as UTF-8) gets
    ``Content-Type: text/plain; charset=utf-8`` unless one is given.
    """
    if not 200 <= status <= 599:
        raise ValueError("a rejection needs a final status, got %r" % (status,))
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    if "\r" in reason or "\n" in reason:
        raise ValueError("invalid reason phrase")
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = list(headers)
    _refuse_reserved(headers, _RESERVED_REJECTION)
    if body and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
    headers.append(("Content-Length", str(len(body))))
    headers.append(("Connection", "close"))
    status_line = ("HTTP/1.1 %d %s\r\n" % (status, reason)).encode("latin-1")
    return status_line + format_headers(headers) + b"\r\n" + bytes(body)


def _refuse_reserved(headers: Iterable[tuple[str, str]], reserved: frozenset[str]) -> None:
    for name, _ in headers:
        if name.lower() in reserved:
            raise ValueError("header %s is set by the handshake" % name)


# Client side


def build_request(
    host: str,
    port: int | None = None,
    path: str = "/",
    *,
    secure: bool = False,
    subprotocols: Iterable[str] = (),
    extensions: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    origin: str | None = None,
) -> tuple[bytes, str]:
    """The upgrade request: returns ``(request_bytes, key)``.

    Keep ``key`` for :func:`check_response`. ``path`` is the resource name,
    already percent-encoded, query included. ``extensions`` is the
    Sec-WebSocket-Extensions offer (see ``wsfast.extensions.deflate_offer``).
    """
    if not _PATH.match(path):
        raise ValueError("invalid request path: %r" % (path,))
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    headers = [
        ("Host", _host_header(host, port, secure)),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", WEBSOCKET_VERSION),
    ]
    if origin is not None:
        headers.append(("Origin", origin))
    subprotocols = list(subprotocols)
    if subprotocols:
        for name in subprotocols:
            if not TOKEN.fullmatch(name):
                raise ValueError("invalid subprotocol: %r" % (name,))
        headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if extensions:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    extra_headers = list(extra_headers)
    _refuse_reserved(extra_headers, _RESERVED_101 | {"host", "sec-websocket-key"})
    headers.extend(extra_headers)
    head = ("GET %s HTTP/1.1\r\n" % path).encode("ascii")
    return head + format_headers(headers) + b"\r\n", key


def _host_header(host: str, port: int | None, secure: bool) -> str:
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host  # IPv6 literal (RFC 3986 §3.2.2)
    elif not host.isascii():
        host = host.encode("idna").decode("ascii")
    if port is None or port == (443 if secure else 80):
        return host
    return "%s:%d" % (host, port)


def check_response(response: Response, key: str, offered_subprotocols: Iterable[str] = (), *,
                   body: bytes | bytearray = b"") -> tuple[str | None, list[str]]:
    """Validate the server's answer to :func:`build_request`.

    Returns ``(subprotocol, extensions)``: the accepted subprotocol or None,
    and the list of Sec-WebSocket-Extensions values, to be checked with
    ``wsfast.extensions.accept_deflate_response``. Raises InvalidResponse,
    carrying the status, headers and the start of ``body`` (pass the bytes
    read after the head) so that a rejection can be reported.
    """
    headers = response.headers

    def fail(reason: str) -> NoReturn:
        raise InvalidResponse(
            reason, response.status, headers, bytes(body[:_BODY_EXCERPT])
        )

    if response.status != 101:
        fail("server rejected the WebSocket connection: HTTP %d %s"
             % (response.status, response.reason or ""))
    if headers.tokens("Upgrade") != ["websocket"]:
        fail("Upgrade header must be websocket")
    if "upgrade" not in headers.tokens("Connection"):
        fail("Connection header must contain upgrade")
    if headers.get_all("Sec-WebSocket-Accept") != [accept_key(key)]:
        fail("wrong Sec-WebSocket-Accept")
    chosen = headers.elements("Sec-WebSocket-Protocol")
    if len(chosen) > 1:
        fail("server chose more than one subprotocol")
    subprotocol = chosen[0] if chosen else None
    if subprotocol is not None and subprotocol not in offered_subprotocols:
        fail("server chose subprotocol %r, which was not offered" % subprotocol)
    return subprotocol, headers.get_all("Sec-WebSocket-Extensions")


# Server handshake hooks
#
# A server may take a hook ``hook(request, remote_address)`` that decides
# whether to accept a valid handshake. It returns None or True to accept,
# an Accept to accept with extra headers or a given subprotocol, a Reject
# (or False, meaning 403) to refuse, or raises HandshakeError.


class Accept:
    """Accept the handshake, adding ``headers`` to the 101 response.

    ``subprotocol``, if set, replaces the server's own choice; it must be
    one the client offered.
    """

    __slots__ = ("headers", "subprotocol")

    def __init__(self, headers: Iterable[tuple[str, str]] = (), subprotocol: str | None = None) -> None:
        self.headers = list(headers)
        self.subprotocol = subprotocol

    def __repr__(self) -> str:
        return "Accept(headers=%r, subprotocol=%r)" % (self.headers, self.subprotocol)


class Reject:
    """Refuse the handshake with an HTTP response (see build_rejection)."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int = 403, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> None:
        self.status = status
        self.headers = list(headers)
        self.body = body

    def __repr__(self) -> str:
        return "Reject(%r, headers=%r, body=%r)" % (
            self.status,
            self.headers,
            self.body,
        )


def normalize_decision(result: object) -> Accept | Reject:
    """Map a hook's return value to an Accept or a Reject."""
    if result is None or result is True:
        return Accept()
    if result is False:
        return Reject(403)
    if isinstance(result, (Accept, Reject)):
        return result
    raise TypeError("handshake hook returned %r" % (result,))


def origin_check(origins: Iterable[str], *, allow_missing: bool = False,
                 ) -> Callable[..., Reject | None]:
    """A hook accepting only requests whose Origin is in ``origins``.

    Browsers attach cookies to cross-site WebSocket handshakes and the
    same-origin policy does not cover WebSockets, so a server relying on
    cookies must check Origin to prevent cross-site WebSocket hijacking.
    Matching is exact and case-insensitive (``"https://example.com"``;
    a non-default port is part of the origin). There is deliberately no
    wildcard: allowing every origin is the same as not installing the hook.
    Non-browser clients often send no Origin: they are refused with 403
    unless ``allow_missing`` is true.
    """
    allowed: set[str] = set()
    for origin in origins:
        if "*" in origin:
            raise ValueError("wildcard origins are not supported: %r" % (origin,))
        allowed.add(origin.lower())

    def check(request: Request, remote_address: object = None) -> Reject | None:
        values = request.headers.get_all("Origin")
        if not values:
            if allow_missing:
                return None
            return Reject(403, body=b"Origin header required\n")
        if len(values) == 1 and values[0].lower() in allowed:
            return None
        return Reject(403, body=b"Origin not allowed\n")

    return check
