"""Sec-WebSocket-Extensions parsing and permessage-deflate negotiation.

RFC 6455 §9.1 gives the header syntax, RFC 7692 §7 the parameters.

Window sizes: the RFC allows 8 to 15 bits, but zlib refuses an 8-bit
window for raw deflate. zlib's compressor never emits a match farther back
than the window size minus 262 bytes, that is 250 bytes for a 9-bit
window, which fits in 256: so a peer limited to 8 bits is served by a 9-bit
compressor while the negotiated value stays 8, as the RFC requires (a
server must not answer with more than the client asked for). Inflating
with 9 bits reads anything sent with 8. :class:`DeflateParams` hands zlib
the adjusted numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import HandshakeError, InvalidResponse
from .grammar import TOKEN

__all__ = [
    "DEFAULT_CLIENT_MAX_WINDOW_BITS",
    "DEFAULT_MEM_LEVEL",
    "DEFAULT_OFFER",
    "DEFAULT_SERVER_MAX_WINDOW_BITS",
    "DEFAULT_WINDOW_BITS",
    "DeflateParams",
    "PERMESSAGE_DEFLATE",
    "accept_deflate_response",
    "deflate_offer",
    "negotiate_deflate",
    "parse_extensions",
]

#: The extension token of permessage-deflate (RFC 7692).
PERMESSAGE_DEFLATE = "permessage-deflate"

#: Window bits our compressor uses unless the peer allows less: 4 KiB
#: instead of zlib's 32 KiB, to keep per-connection memory low.
DEFAULT_WINDOW_BITS = 12
#: zlib memLevel of our compressor (zlib's default is 8); with 12 window
#: bits a compressor needs about 32 KiB instead of about 256 KiB.
DEFAULT_MEM_LEVEL = 5
#: What a server announces as its own window (server_max_window_bits).
DEFAULT_SERVER_MAX_WINDOW_BITS = DEFAULT_WINDOW_BITS
#: What a server asks of clients that allow it (client_max_window_bits), so
#: that its inflaters stay small too.
DEFAULT_CLIENT_MAX_WINDOW_BITS = DEFAULT_WINDOW_BITS

#: The smallest window_bits RFC 7692 allows.
MIN_WINDOW_BITS = 8
#: The largest window_bits (zlib's 32 KiB window).
MAX_WINDOW_BITS = 15
#: Smallest window zlib accepts for raw deflate (see the module docstring).
ZLIB_MIN_WINDOW_BITS = 9

# quoted-string (RFC 9110 §5.6.4): qdtext or backslash-escaped characters.
_QUOTED = re.compile(
    r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"'
)
_OWS = re.compile(r"[ \t]*")
_DIGITS = re.compile(r"[0-9]+\Z")


#: One parsed extension: its name and its ``(parameter, value or None)`` list.
Extension = tuple[str, list[tuple[str, 'str | None']]]


def parse_extensions(header_values: Iterable[str]) -> list[Extension]:
    """Parse Sec-WebSocket-Extensions values into ``[(name, params)]``.

    ``params`` is a list of ``(name, value)`` with value None when absent;
    quoted values are unquoted. Extensions from every line and comma are
    returned in order. Raises HandshakeError(400) when malformed.
    """
    result: list[Extension] = []
    for value in header_values:
        try:
            _parse_value(value, result)
        except ValueError as exc:
            raise HandshakeError(
                400, "malformed Sec-WebSocket-Extensions header: %s" % exc
            ) from None
    return result


def _parse_value(text: str, result: list[Extension]) -> None:
    pos = _skip(text, 0)
    while pos < len(text):
        if text[pos] == ",":  # empty list element (RFC 9110 §5.6.1)
            pos = _skip(text, pos + 1)
            continue
        name, pos = _token(text, pos, "extension name")
        params: list[tuple[str, str | None]] = []
        pos = _skip(text, pos)
        while pos < len(text) and text[pos] == ";":
            pos = _skip(text, pos + 1)
            param, pos = _token(text, pos, "parameter name")
            pos = _skip(text, pos)
            value: str | None = None
            if pos < len(text) and text[pos] == "=":
                pos = _skip(text, pos + 1)
                value, pos = _param_value(text, pos)
                pos = _skip(text, pos)
            params.append((param, value))
        result.append((name, params))
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError("unexpected %r at %d" % (text[pos], pos))
            pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    match = _OWS.match(text, pos)
    return match.end() if match is not None else pos  # it matches the empty string


def _token(text: str, pos: int, what: str) -> tuple[str, int]:
    match = TOKEN.match(text, pos)
    if match is None:
        raise ValueError("expected %s at %d" % (what, pos))
    return match.group(), match.end()


def _param_value(text: str, pos: int) -> tuple[str, int]:
    if text.startswith('"', pos):
        match = _QUOTED.match(text, pos)
        if match is None:
            raise ValueError("bad quoted string at %d" % pos)
        value = re.sub(r"\\(.)", r"\1", match.group(1))
        # RFC 6455 §9.1: once unquoted, the value must still be a token.
        if not TOKEN.fullmatch(value):
            raise ValueError("quoted value %r is not a token" % value)
        return value, match.end()
    return _token(text, pos, "parameter value")


@dataclass(frozen=True)
class DeflateParams:
    """permessage-deflate parameters, as offered or as agreed.

    A ``*_max_window_bits`` of None means the parameter is absent, i.e. up
    to 15 bits. In an offer, ``client_max_window_bits=True`` stands for the
    parameter without a value ("the client can limit its window").
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | bool | None = None

    def __post_init__(self) -> None:
        for name in ("server_max_window_bits", "client_max_window_bits"):
            bits = getattr(self, name)
            if bits is None or (bits is True and name == "client_max_window_bits"):
                continue
            if isinstance(bits, bool) or not (
                isinstance(bits, int) and MIN_WINDOW_BITS <= bits <= MAX_WINDOW_BITS
            ):
                raise ValueError("%s must be 8 to 15, got %r" % (name, bits))

    def header_value(self) -> str:
        """The Sec-WebSocket-Extensions value: ``permessage-deflate; ...``."""
        parts = [PERMESSAGE_DEFLATE]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append("server_max_window_bits=%d" % self.server_max_window_bits)
        if self.client_max_window_bits is True:
            parts.append("client_max_window_bits")
        elif self.client_max_window_bits is not None:
            parts.append("client_max_window_bits=%d" % self.client_max_window_bits)
        return "; ".join(parts)

    # What the deflate layer needs, for agreed parameters. ``is_server``
    # picks the side: a server compresses with the server_* parameters.

    def deflate_window_bits(self, is_server: bool, preferred: int = DEFAULT_WINDOW_BITS) -> int:
        """zlib window bits for our compressor: at most what the peer allows
        and ``preferred``, at least 9."""
        bits = self.server_max_window_bits if is_server else self.client_max_window_bits
        limit = MAX_WINDOW_BITS if bits is None or bits is True else bits
        return max(ZLIB_MIN_WINDOW_BITS, min(limit, preferred))

    def inflate_window_bits(self, is_server: bool) -> int:
        """zlib window bits for our decompressor: the peer's agreed window."""
        bits = self.client_max_window_bits if is_server else self.server_max_window_bits
        if bits is None or bits is True:
            return MAX_WINDOW_BITS
        return max(ZLIB_MIN_WINDOW_BITS, bits)

    def deflate_no_context_takeover(self, is_server: bool) -> bool:
        """True if our compressor must be reset after every message."""
        if is_server:
            return self.server_no_context_takeover
        return self.client_no_context_takeover

    def inflate_no_context_takeover(self, is_server: bool) -> bool:
        """True if the peer resets after every message, so our decompressor
        may too (and need not be kept between messages)."""
        if is_server:
            return self.client_no_context_takeover
        return self.server_no_context_takeover


def _read_params(params: Iterable[tuple[str, str | None]], in_offer: bool) -> DeflateParams:
    """DeflateParams from raw parameters; ValueError if invalid.

    Only an offer may carry client_max_window_bits without a value.
    """
    seen: dict[str, Any] = {}
    for name, value in params:
        key = name.lower()
        if key in seen:
            raise ValueError("duplicate parameter %s" % name)
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise ValueError("%s takes no value" % name)
            seen[key] = True
        elif key in ("server_max_window_bits", "client_max_window_bits"):
            if value is None:
                if key == "server_max_window_bits" or not in_offer:
                    raise ValueError("%s needs a value" % name)
                seen[key] = True
            else:
                seen[key] = _window_bits(name, value)
        else:
            raise ValueError("unknown parameter %s" % name)
    return DeflateParams(**seen)


def _window_bits(name: str, value: str) -> int:
    # RFC 7692 §7.1.2: 1*DIGIT, from 8 to 15.
    if not _DIGITS.match(value) or not (
        MIN_WINDOW_BITS <= int(value) <= MAX_WINDOW_BITS
    ):
        raise ValueError("%s must be 8 to 15, got %r" % (name, value))
    return int(value)


def _check_config_bits(name: str, bits: int | None) -> None:
    if bits is not None and (
        isinstance(bits, bool) or not MIN_WINDOW_BITS <= bits <= MAX_WINDOW_BITS
    ):
        raise ValueError("%s must be None or 8 to 15, got %r" % (name, bits))


# Server side


def negotiate_deflate(
    offers: Iterable[Extension],
    *,
    server_max_window_bits: int | None = DEFAULT_SERVER_MAX_WINDOW_BITS,
    client_max_window_bits: int | None = DEFAULT_CLIENT_MAX_WINDOW_BITS,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
) -> tuple[str, DeflateParams] | None:
    """Accept the first acceptable permessage-deflate offer, or None.

    ``offers`` is the output of :func:`parse_extensions`, in the client's
    order of preference; other extensions are ignored. An offer with an
    unknown, duplicate or invalid parameter is declined and the next one
    tried. Returns ``(response_header_value, DeflateParams)``.

    ``server_max_window_bits`` caps our compressor's window and is announced
    so that the client can inflate with less memory; the client's own limit
    wins if lower. ``client_max_window_bits`` is asked of clients that offer
    that parameter: those that give no value are always answered with one,
    since some (Chromium) require it. The ``*_no_context_takeover`` flags
    are imposed even if the client did not ask for them; a client's request
    for either is granted. None for a window means no limit (15).
    """
    _check_config_bits("server_max_window_bits", server_max_window_bits)
    _check_config_bits("client_max_window_bits", client_max_window_bits)
    for name, params in offers:
        if name.lower() != PERMESSAGE_DEFLATE:
            continue
        try:
            offer = _read_params(params, in_offer=True)
        except ValueError:
            continue
        agreed = _answer(
            offer,
            server_max_window_bits,
            client_max_window_bits,
            server_no_context_takeover,
            client_no_context_takeover,
        )
        return agreed.header_value(), agreed
    return None


def _answer(offer: DeflateParams, server_bits: int | None, client_bits: int | None,
            server_nct: bool, client_nct: bool) -> DeflateParams:
    # Server window: never more than the client asked for (RFC 7692
    # §7.1.2.1); announce our own cap even when not asked.
    smwb = offer.server_max_window_bits
    if smwb is None:
        if server_bits is not None and server_bits < MAX_WINDOW_BITS:
            smwb = server_bits
    elif server_bits is not None:
        smwb = min(smwb, server_bits)
    # Client window: only if the client offered the parameter (§7.1.2.2).
    cmwb = offer.client_max_window_bits
    if cmwb is True:
        cmwb = MAX_WINDOW_BITS if client_bits is None else client_bits
    elif cmwb is not None and client_bits is not None:
        cmwb = min(cmwb, client_bits)
    return DeflateParams(
        server_no_context_takeover=offer.server_no_context_takeover or server_nct,
        client_no_context_takeover=offer.client_no_context_takeover or client_nct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )


# Client side

#: The offer a client sends by default: ``permessage-deflate;
#: client_max_window_bits`` (the server may then shrink our window).
DEFAULT_OFFER = DeflateParams(client_max_window_bits=True)


def deflate_offer(offer: DeflateParams = DEFAULT_OFFER) -> str:
    """The Sec-WebSocket-Extensions value offering ``offer`` (DeflateParams).

    Keep ``offer`` for :func:`accept_deflate_response`.
    """
    return offer.header_value()


def accept_deflate_response(header_values: Iterable[str],
                            offer: DeflateParams | None = DEFAULT_OFFER) -> DeflateParams | None:
    """Check the server's Sec-WebSocket-Extensions against our offer.

    ``header_values`` are the response's Sec-WebSocket-Extensions values
    (as returned by ``handshake.check_response``); ``offer`` is what we sent,
    or None if we offered no extension. Returns the agreed DeflateParams, or
    None when the server accepted no extension. Raises InvalidResponse if
    the server enabled something we did not offer or answered outside it.
    """
    try:
        extensions = parse_extensions(header_values)
    except HandshakeError as exc:
        raise InvalidResponse(exc.reason, 101) from None
    if not extensions:
        return None
    if offer is None:
        raise InvalidResponse("server enabled extension %s, not offered" % extensions[0][0], 101)
    for name, _ in extensions:
        if name.lower() != PERMESSAGE_DEFLATE:
            raise InvalidResponse(
                "server enabled extension %s, not offered" % name, 101
            )
    if len(extensions) > 1:
        raise InvalidResponse("server enabled permessage-deflate more than once", 101)
    try:
        answer = _read_params(extensions[0][1], in_offer=False)
        return _check_answer(offer, answer)
    except ValueError as exc:
        raise InvalidResponse(
            "invalid permessage-deflate response: %s" % exc, 101
        ) from None


def _check_answer(offer: DeflateParams, answer: DeflateParams) -> DeflateParams:
    """The agreed parameters; ValueError if ``answer`` exceeds ``offer``."""
    # RFC 7692 §7.1.1.1: a server accepting server_no_context_takeover
    # must echo it.
    if offer.server_no_context_takeover and not answer.server_no_context_takeover:
        raise ValueError("server_no_context_takeover was not accepted")
    smwb = answer.server_max_window_bits
    if offer.server_max_window_bits is not None:
        if smwb is None:
            raise ValueError("server_max_window_bits was not accepted")
        if smwb > offer.server_max_window_bits:
            raise ValueError("server_max_window_bits larger than offered")
    cmwb = answer.client_max_window_bits
    if offer.client_max_window_bits is None:
        if cmwb is not None:
            raise ValueError("client_max_window_bits was not offered")
    elif offer.client_max_window_bits is not True:
        if cmwb is None:
            cmwb = offer.client_max_window_bits  # we stay within our own offer
        elif cmwb > offer.client_max_window_bits:
            raise ValueError("client_max_window_bits larger than offered")
    return DeflateParams(
        server_no_context_takeover=answer.server_no_context_takeover,
        client_no_context_takeover=(
            offer.client_no_context_takeover or answer.client_no_context_takeover
        ),
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
