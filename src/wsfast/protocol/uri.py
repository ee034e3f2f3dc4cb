"""WebSocket URIs (RFC 6455 section 3): ``ws://host[:port]/path?query``."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from ..errors import WebSocketError


class InvalidURI(WebSocketError, ValueError):
    """The string is not a usable ws:// or wss:// URI."""

    def __init__(self, uri: object, reason: str) -> None:
        super().__init__("%s: %r" % (reason, uri))
        self.uri = uri
        self.reason = reason


class WebSocketURI:
    """A parsed URI: ``secure``, ``host`` (IPv6 without brackets), ``port``
    (always set), and ``resource``: the path and query to request."""

    __slots__ = ("secure", "host", "port", "resource")

    def __init__(self, secure: bool, host: str, port: int, resource: str) -> None:
        self.secure = secure
        self.host = host
        self.port = port
        self.resource = resource

    def __repr__(self) -> str:
        return "WebSocketURI(secure=%r, host=%r, port=%r, resource=%r)" % (
            self.secure,
            self.host,
            self.port,
            self.resource,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebSocketURI) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__
        )


# Characters that may stay as they are in a request path (RFC 3986 pchar,
# "/" and "%" so that already-escaped input is not escaped twice).
_SAFE_PATH = "/%!$&'()*+,;=:@-._~"
_SAFE_QUERY = _SAFE_PATH + "?"
# Characters no host name may hold (RFC 3986 3.2.2), besides spaces and
# control characters; caught here so that such a URI never reaches DNS.
_NOT_IN_HOST = '<>"{}|\\^`%/?#'


def parse_uri(uri: str) -> WebSocketURI:
    """Parse ``uri``; raises InvalidURI for another scheme, a missing host,
    userinfo (credentials do not belong in a WebSocket URI: send an
    Authorization header instead), a fragment or a bad port."""
    if not isinstance(uri, str):
        raise InvalidURI(uri, "URI must be a str")
    try:
        parts = urlsplit(uri)
        port = parts.port  # validates the port (ValueError)
    except ValueError as exc:
        raise InvalidURI(uri, str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise InvalidURI(uri, "scheme must be ws or wss")
    if parts.username is not None or parts.password is not None:
        raise InvalidURI(uri, "userinfo is not allowed in a WebSocket URI")
    if parts.fragment or uri.endswith("#"):
        raise InvalidURI(uri, "fragments are not allowed in a WebSocket URI")
    host = parts.hostname
    if not host:
        raise InvalidURI(uri, "missing host")
    if port == 0:
        raise InvalidURI(uri, "port 0 is not allowed")
    secure = scheme == "wss"
    if port is None:
        port = 443 if secure else 80
    # urlsplit lower-cases hostname; keep the user's spelling of names.
    netloc_host = parts.netloc.rpartition("@")[2]
    if not netloc_host.startswith("["):
        host = netloc_host.partition(":")[0]
        bad = [c for c in host if c in _NOT_IN_HOST or not c.isprintable() or c.isspace()]
        if bad:
            raise InvalidURI(uri, "invalid character %r in host" % bad[0])
    resource = quote(parts.path or "/", safe=_SAFE_PATH)
    if not resource.startswith("/"):
        resource = "/" + resource
    if parts.query or uri.endswith("?"):
        resource += "?" + quote(parts.query, safe=_SAFE_QUERY)
    return WebSocketURI(secure, host, port, resource)
