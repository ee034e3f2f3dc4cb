"""``wsproto.connection``'s ``Connection``: the WebSocket connection
after the handshake. One source, two builds (wsfast._twins): compiled as
``_connection_c`` with the C extension; ``connection.py`` picks one.

wsproto's policy, on wsfast's codec: nothing is answered automatically
(the caller sends ``Ping.response()`` and the close reply), the states go
OPEN -> LOCAL_CLOSING / REMOTE_CLOSING -> CLOSED as close frames pass,
``receive_data(None)`` reports a 1006 close, and a peer's protocol error
is reported as a ``CloseConnection`` event carrying the RFC close code.

Frames are parsed by the codec's ``FrameParser`` (its RFC 6455 rules,
limits and incremental UTF-8 check, in C), inflated by its ``Inflater``
(bounded by ``max_message_size``, UTF-8 checked while inflating) and
encoded by its ``FrameEncoder`` (client mask keys from ``os.urandom``).
Received data is parsed when ``events()`` is iterated, and state changes
happen as the close event is yielded, as in wsproto.
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Generator
from typing import Any

from ..codec.backend import impl as _codec
from ..constants import CLOSE_TOO_BIG, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT
from ..errors import ProtocolError
from . import limits
from .events import (
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from .extensions import Extension, PerMessageDeflate
from .frame_protocol import LOCAL_ONLY_CLOSE_REASONS, MAX_PAYLOAD_NORMAL, CloseReason
from .states import ConnectionState, ConnectionType
from .utilities import LocalProtocolError

# The codec in use (wsfast.codec.backend), not the package facade: the
# facade sits above every layer.
FrameEncoder, FrameParser = _codec.FrameEncoder, _codec.FrameParser
Deflater, Inflater, close_code_valid = _codec.Deflater, _codec.Inflater, _codec.close_code_valid


_OPEN = ConnectionState.OPEN
_LOCAL_CLOSING = ConnectionState.LOCAL_CLOSING
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING
_CLOSED = ConnectionState.CLOSED

# Received codes come out as CloseReason members (users compare with `is`).
_REASONS: dict[int, int] = {int(member): member for member in CloseReason}
_NO_STATUS = CloseReason.NO_STATUS_RCVD
_LOCAL_ONLY = frozenset(int(code) for code in LOCAL_ONLY_CLOSE_REASONS)
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


def _truncate_utf8(data: bytes, size: int) -> bytes:
    """At most ``size`` bytes of UTF-8 ``data``, cut on a character boundary."""
    if len(data) <= size:
        return data
    return data[:size].decode("utf-8", errors="ignore").encode("utf-8")


def _deflate_of(extensions: list[Extension]) -> PerMessageDeflate | None:
    deflate = None
    for extension in extensions:
        if not extension.enabled():
            continue
        if isinstance(extension, PerMessageDeflate):
            deflate = extension
        else:
            raise LocalProtocolError(
                "extension %r: only PerMessageDeflate is implemented by this connection"
                % extension.name)
    return deflate


class Connection:
    """One WebSocket connection after its handshake (wsproto's API)."""

    __slots__ = (
        "client", "max_message_size", "_state", "_events", "_parser", "_encoder",
        "_frames", "_error", "_stopped", "_deflater", "_inflater", "_in_opcode",
        "_in_compressed", "_in_decoder", "_in_size", "_out_opcode", "_extensions",
        "_encode", "_whole",
    )

    def __init__(
        self,
        connection_type: ConnectionType,
        extensions: list[Extension] | None = None,
        trailing_data: bytes = b"",
        *,
        max_message_size: int | None = None,
    ) -> None:
        self.client = client = connection_type is ConnectionType.CLIENT
        if max_message_size is None:
            max_message_size = limits.MAX_MESSAGE_SIZE
        self.max_message_size = max_message_size
        self._extensions = extensions or []
        self._state = _OPEN
        self._events: deque[Event] = deque()
        deflate = _deflate_of(self._extensions)
        wire_limit = max_message_size
        self._deflater: Any = None
        self._inflater: Any = None
        if deflate is not None:
            # Compressed frames may grow past the plaintext on the wire.
            wire_limit += (max_message_size >> 10) + 64
            send_bits = deflate.client_max_window_bits if client else deflate.server_max_window_bits
            send_nct = (deflate.client_no_context_takeover if client
                        else deflate.server_no_context_takeover)
            recv_bits = deflate.server_max_window_bits if client else deflate.client_max_window_bits
            recv_nct = (deflate.server_no_context_takeover if client
                        else deflate.client_no_context_takeover)
            self._deflater = Deflater(send_bits, 8, no_context_takeover=send_nct,
                                      release=send_nct, idle=limits.COMPRESSION_IDLE)
            self._inflater = Inflater(recv_bits, max_message_size, no_context_takeover=recv_nct,
                                      release=recv_nct, idle=limits.COMPRESSION_IDLE)
        self._parser = FrameParser(
            not client, max_frame_size=wire_limit, max_message_size=wire_limit,
            allow_rsv1=deflate is not None, reassemble=False, validate_utf8=True)
        self._encoder = FrameEncoder(client)
        self._encode = self._encoder.encode
        # send's fast path: OPEN, no outgoing message in parts, no deflate.
        self._whole = deflate is None
        self._frames: deque[Any] = deque()
        self._error: ProtocolError | None = None
        self._stopped = False  # a close frame or an error ended the input
        self._in_opcode = 0
        self._in_compressed = False
        self._in_decoder: Any = None
        self._in_size = 0  # uncompressed message so far (checked when deflate widens the parser's bound)
        self._out_opcode = 0
        if trailing_data:
            self.receive_data(trailing_data)

    @property
    def state(self) -> ConnectionState:
        return self._state

    # -- sending ---------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """The bytes to send for ``event``; LocalProtocolError if the state
        does not allow it."""
        cls = event.__class__
        # The usual case first: a whole uncompressed message.
        if self._whole and (cls is TextMessage or cls is BytesMessage) \
                and event.message_finished:  # type: ignore[attr-defined]
            data = event.data  # type: ignore[attr-defined]
            if data.__class__ is str:
                return self._encode(OP_TEXT, data)  # the encoder writes str as UTF-8
            if data.__class__ is bytes:
                return self._encode(OP_BINARY, data)
        state = self._state
        if state is _OPEN:
            if cls is TextMessage or cls is BytesMessage or isinstance(event, Message):
                return self._send_data(event.data, event.message_finished)  # type: ignore[attr-defined]
            if cls is Ping or isinstance(event, Ping):
                return self._send_control(OP_PING, event.payload)  # type: ignore[attr-defined]
            if cls is Pong or isinstance(event, Pong):
                return self._send_control(OP_PONG, event.payload)  # type: ignore[attr-defined]
        if isinstance(event, CloseConnection) and (state is _OPEN or state is _REMOTE_CLOSING):
            data = self._close_frame(event.code, event.reason)
            self._state = _CLOSED if state is _REMOTE_CLOSING else _LOCAL_CLOSING
            self._whole = False
            return data
        raise LocalProtocolError("Event %r cannot be sent in state %s." % (event, state))

    def _send_data(self, data: Any, fin: bool) -> bytes:
        if isinstance(data, str):
            opcode = OP_TEXT
            data = data.encode("utf-8")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            opcode = OP_BINARY
        else:
            raise TypeError("Must provide bytes or text")
        first = not self._out_opcode
        if first:
            self._out_opcode = opcode
        elif self._out_opcode != opcode:
            raise TypeError("Data type mismatch inside message")
        if fin:
            self._out_opcode = 0
        self._whole = not self._out_opcode and self._deflater is None
        if self._deflater is not None:
            return self._encoder.encode(opcode if first else OP_CONT,
                                        self._deflater.compress(data, fin), fin, first)
        return self._encoder.encode(opcode if first else OP_CONT, data, fin)

    def _send_control(self, opcode: int, payload: bytes) -> bytes:
        if len(payload) > MAX_PAYLOAD_NORMAL:
            raise ValueError("payload too long for control frame")
        return self._encoder.encode(opcode, payload)

    def _close_frame(self, code: int | None, reason: str | None) -> bytes:
        if code is not None and code == _NO_STATUS:
            code = None
        if code is None:
            if reason:
                raise TypeError("cannot specify a reason without a code")
            return self._encoder.encode(OP_CLOSE, b"")
        if code in _LOCAL_ONLY:
            code = CloseReason.NORMAL_CLOSURE
        if not close_code_valid(code):
            raise LocalProtocolError("close code %r may not be sent (RFC 6455 7.4)" % (code,))
        payload = code.to_bytes(2, "big")
        if reason:
            payload += _truncate_utf8(reason.encode("utf-8"), MAX_PAYLOAD_NORMAL - 2)
        return self._encoder.encode(OP_CLOSE, payload)

    # -- receiving -------------------------------------------------------

    def receive_data(self, data: bytes | None) -> None:
        """Feed bytes from the peer (None: the transport closed)."""
        if data is None:
            # RFC 6455 7.1.5: closed without a close frame is 1006.
            self._events.append(CloseConnection(CloseReason.ABNORMAL_CLOSURE))
            self._state = _CLOSED
            self._whole = False
            return
        state = self._state
        if state is _OPEN or state is _LOCAL_CLOSING:
            if self._stopped or not data:
                return
            try:
                self._frames.extend(self._parser.feed(data))
            except ProtocolError as exc:
                self._frames.extend(exc.frames)
                self._error = exc
                self._stopped = True
        elif state is _CLOSED:
            raise LocalProtocolError("Connection already closed.")

    def events(self) -> Generator[Event, None, None]:
        """The events the received data produced, in order. Frames not
        yet yielded stay queued if the caller stops iterating."""
        queued = self._events
        while queued:
            yield queued.popleft()
        frames = self._frames
        while frames:
            opcode, payload, fin, rsv1 = frames.popleft()
            if opcode == OP_CLOSE:
                frames.clear()
                self._error = None
                self._stopped = True
                yield self._received_close(payload)
                return
            try:
                event = self._event_of(opcode, payload, fin, rsv1)
            except ProtocolError as exc:
                frames.clear()
                self._error = exc
                self._stopped = True
                break
            yield event
        error = self._error
        if error is not None:
            self._error = None
            yield CloseConnection(_REASONS.get(error.code, error.code), error.reason)

    def _event_of(self, opcode: int, payload: bytes, fin: bool, rsv1: bool) -> Event:
        if opcode == OP_TEXT or opcode == OP_BINARY:
            if rsv1:
                payload = self._inflater.decompress(payload, fin, opcode == OP_TEXT)
            elif self._inflater is not None:
                self._check_plain_size(len(payload), True)
            if fin:
                if opcode == OP_TEXT:
                    return TextMessage(payload.decode("utf-8"))
                return BytesMessage(payload)
            self._in_opcode = opcode
            self._in_compressed = rsv1
            if opcode == OP_TEXT:
                self._in_decoder = decoder = _utf8_decoder()
                return TextMessage(decoder.decode(payload), True, False)
            return BytesMessage(payload, True, False)
        if opcode == OP_CONT:
            if self._in_compressed:
                payload = self._inflater.decompress(payload, fin, self._in_opcode == OP_TEXT)
            elif self._inflater is not None:
                self._check_plain_size(len(payload), False)
            if self._in_opcode == OP_TEXT:
                text = self._in_decoder.decode(payload, fin)
                if fin:
                    self._in_decoder = None
                return TextMessage(text, True, fin)
            return BytesMessage(payload, True, fin)
        if opcode == OP_PING:
            return Ping(payload)
        return Pong(payload)

    def _check_plain_size(self, size: int, first: bool) -> None:
        """With deflate, the parser's bound leaves room for deflate's growth;
        an uncompressed message is held to ``max_message_size`` here."""
        self._in_size = size if first else self._in_size + size
        if self._in_size > self.max_message_size:
            raise ProtocolError(CLOSE_TOO_BIG, "message too big")

    def _received_close(self, payload: bytes) -> CloseConnection:
        if payload:
            code = int.from_bytes(payload[:2], "big")
            event = CloseConnection(_REASONS.get(code, code), payload[2:].decode("utf-8"))
        else:
            event = CloseConnection(_NO_STATUS, "")
        self._state = _CLOSED if self._state is _LOCAL_CLOSING else _REMOTE_CLOSING
        self._whole = False
        return event
