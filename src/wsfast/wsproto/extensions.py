"""``wsproto.extensions``: extension negotiation objects.

``PerMessageDeflate`` negotiates exactly as wsproto's does (the same offer,
accept and finalize strings); the compression itself is done by wsfast's
codec inside ``Connection`` (bounded inflate, UTF-8 checked while
inflating), so its per-frame hooks are not used. Other ``Extension``
subclasses take part in the handshake only: ``Connection`` refuses one
that ends up enabled, since its frame hooks would not run.
"""

from __future__ import annotations

from typing import Any

from .frame_protocol import CloseReason, Opcode, RsvBits

MIN_WINDOW_BITS = 9
MAX_WINDOW_BITS = 15


class Extension:
    """Base class of an extension; subclasses set ``name`` and ``offer()``."""

    name: str

    def enabled(self) -> bool:
        return False

    def offer(self) -> bool | str:
        raise NotImplementedError

    def accept(self, offer: str) -> bool | str | None:
        return None

    def finalize(self, offer: str) -> None:
        return None

    # The per-frame hooks of wsproto's extension API, with its defaults.
    # The drop-in's Connection does not call them.
    def frame_inbound_header(self, proto: Any, opcode: Opcode, rsv: RsvBits,
                             payload_length: int) -> CloseReason | RsvBits:
        return RsvBits(False, False, False)

    def frame_inbound_payload_data(self, proto: Any, data: bytes) -> bytes | CloseReason:
        return data

    def frame_inbound_complete(self, proto: Any, fin: bool) -> bytes | CloseReason | None:
        return None

    def frame_outbound(self, proto: Any, opcode: Opcode, rsv: RsvBits, data: bytes,
                       fin: bool) -> tuple[RsvBits, bytes]:
        return (rsv, data)


def _check_bits(value: int) -> int:
    if value < MIN_WINDOW_BITS or value > MAX_WINDOW_BITS:
        raise ValueError("Window size must be between 9 and 15 inclusive")
    return value


class PerMessageDeflate(Extension):
    """RFC 7692 permessage-deflate, configured and negotiated like wsproto's."""

    name = "permessage-deflate"

    DEFAULT_CLIENT_MAX_WINDOW_BITS = 15
    DEFAULT_SERVER_MAX_WINDOW_BITS = 15

    def __init__(
        self,
        client_no_context_takeover: bool = False,
        client_max_window_bits: int | None = None,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
    ) -> None:
        self.client_no_context_takeover = client_no_context_takeover
        self.server_no_context_takeover = server_no_context_takeover
        self._client_max_window_bits = self.DEFAULT_CLIENT_MAX_WINDOW_BITS
        self._server_max_window_bits = self.DEFAULT_SERVER_MAX_WINDOW_BITS
        if client_max_window_bits is not None:
            self.client_max_window_bits = client_max_window_bits
        if server_max_window_bits is not None:
            self.server_max_window_bits = server_max_window_bits
        self._enabled = False

    @property
    def client_max_window_bits(self) -> int:
        return self._client_max_window_bits

    @client_max_window_bits.setter
    def client_max_window_bits(self, value: int) -> None:
        self._client_max_window_bits = _check_bits(value)

    @property
    def server_max_window_bits(self) -> int:
        return self._server_max_window_bits

    @server_max_window_bits.setter
    def server_max_window_bits(self, value: int) -> None:
        self._server_max_window_bits = _check_bits(value)

    def enabled(self) -> bool:
        return self._enabled

    def offer(self) -> bool | str:
        params = [
            "client_max_window_bits=%d" % self.client_max_window_bits,
            "server_max_window_bits=%d" % self.server_max_window_bits,
        ]
        if self.client_no_context_takeover:
            params.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            params.append("server_no_context_takeover")
        return "; ".join(params)

    def finalize(self, offer: str) -> None:
        """Client side: apply the server's answer."""
        for param in offer.split(";")[1:]:
            param = param.strip()
            if param.startswith("client_no_context_takeover"):
                self.client_no_context_takeover = True
            elif param.startswith("server_no_context_takeover"):
                self.server_no_context_takeover = True
            elif param.startswith("client_max_window_bits"):
                self.client_max_window_bits = int(param.split("=", 1)[1].strip())
            elif param.startswith("server_max_window_bits"):
                self.server_max_window_bits = int(param.split("=", 1)[1].strip())
        self._enabled = True

    def _read_offer(self, offer: str) -> tuple[int | None, int | None]:
        """Server side: the window sizes a client offered (a bare
        ``*_max_window_bits`` means ours); no-context-takeover flags
        offered are adopted."""
        client_bits = server_bits = None
        for param in offer.split(";")[1:]:
            param = param.strip()
            if param.startswith("client_no_context_takeover"):
                self.client_no_context_takeover = True
            elif param.startswith("server_no_context_takeover"):
                self.server_no_context_takeover = True
            elif param.startswith("client_max_window_bits"):
                client_bits = (int(param.split("=", 1)[1].strip()) if "=" in param
                               else self.client_max_window_bits)
            elif param.startswith("server_max_window_bits"):
                server_bits = (int(param.split("=", 1)[1].strip()) if "=" in param
                               else self.server_max_window_bits)
        return client_bits, server_bits

    def accept(self, offer: str) -> bool | str | None:
        """Server side: the answer's parameters, or None to decline."""
        client_bits, server_bits = self._read_offer(offer)
        params = []
        if self.client_no_context_takeover:
            params.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            params.append("server_no_context_takeover")
        try:
            if client_bits is not None:
                params.append("client_max_window_bits=%d" % client_bits)
                self.client_max_window_bits = client_bits
            if server_bits is not None:
                params.append("server_max_window_bits=%d" % server_bits)
                self.server_max_window_bits = server_bits
        except ValueError:
            return None
        self._enabled = True
        return "; ".join(params)

    def __repr__(self) -> str:
        parts = ["client_max_window_bits=%d" % self.client_max_window_bits]
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        parts.append("server_max_window_bits=%d" % self.server_max_window_bits)
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        return "<%s %s>" % (self.__class__.__name__, "; ".join(parts))


#: Supported extensions by name.
SUPPORTED_EXTENSIONS = {PerMessageDeflate.name: PerMessageDeflate}
