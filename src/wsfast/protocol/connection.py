"""The WebSocket rules after the handshake, sans-I/O (RFC 6455, RFC 7692).

A ``Connection`` turns received bytes into events and queues the bytes to
send; it never touches a socket or a clock. Drivers (the server loop, the
asyncio adapter, the clients, the uvicorn backend) call ``receive_data``,
send ``data_to_send()``, and close the transport when ``should_close``.
Handshakes live in ``server_protocol`` and ``client_protocol``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..codec import backend as _backend
from ..constants import (
    CLOSE_ABNORMAL,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_STATUS,
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
)
from ..errors import InvalidState, ProtocolError, WebSocketError
from .events import CLOSED, CLOSING, CONNECTING, OPEN, Close, Fragment, Ping, Pong
from .extensions import DEFAULT_MEM_LEVEL, DEFAULT_WINDOW_BITS

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from ..codec.prepared import PreparedMessage
    from .events import EventType
    from .extensions import DeflateParams

#: Messages shorter than this are sent uncompressed: deflate would cost
#: more CPU than the bytes it saves (RFC 7692 lets each message choose).
DEFAULT_COMPRESS_MIN_SIZE = 128
#: What compression keeps between messages under context takeover:
#: "window", only the last 2^window_bits bytes each way (4 KiB at the
#: default 12 bits), a new zlib stream being primed with them for each
#: message (same output; CPU per compressed message sent +6 us at 256 B,
#: +3% at 16 KiB); "keep", zlib's whole state (about 38 KiB to send + 11
#: KiB to receive); "adaptive", zlib's state while messages flow and only
#: the window once a keepalive tick (``keepalive()``) passes with no
#: compressed message either way, or a driver's park sweep
#: (``compression_used``/``park_compression``; the epoll server's runs
#: with pings off too): the CPU of "keep" on a busy connection, the memory
#: of "window" on an idle one (a driver that never ticks never parks:
#: "keep"'s memory).
#: See docs/architecture.md, "Deflate memory".
DEFAULT_COMPRESSION_IDLE = "window"
#: The values ``compression_idle`` accepts (see DEFAULT_COMPRESSION_IDLE).
COMPRESSION_IDLE_MODES = ("window", "keep", "adaptive")
#: The close reason sent when a keepalive ping gets no pong in time.
KEEPALIVE_TIMEOUT_REASON = "keepalive ping timeout"
#: Who made this side fail the connection (``Connection.failure_kind``):
#: the peer broke the protocol or a limit; no pong came in time; or the
#: application or driver called ``fail()``.
FAILURE_PEER = "peer"
#: ``failure_kind`` when no pong came in time.
FAILURE_KEEPALIVE = "keepalive"
#: ``failure_kind`` when the application or driver called ``fail()``.
FAILURE_LOCAL = "local"
#: How often a driver calls ``keepalive()``: a quarter of the shorter of
#: ping_interval and ping_timeout, so each deadline is met to within a
#: quarter of it, kept between these bounds (seconds).
KEEPALIVE_TICK_MIN = 0.05
#: The upper bound of the keepalive tick (seconds; see KEEPALIVE_TICK_MIN).
KEEPALIVE_TICK_MAX = 10.0
#: The fairness budget of one step: ``receive_data``/``next_events``
#: return once they have handled this many bytes of message payload
#: (counted after inflating; at least one message is always handled) or
#: this many frames. The rest of a read waits, unparsed, for
#: ``next_events``: one read can no longer make a connection inflate
#: dozens of messages at once, nor keep a loop busy with thousands of
#: pings, and what waits costs no more than the bytes received.
DEFAULT_MAX_STEP_BYTES = 256 * 1024
#: The frame budget of one step (see DEFAULT_MAX_STEP_BYTES).
DEFAULT_MAX_STEP_FRAMES = 128


class Connection:
    """Frames, close handshake, ping/pong and compression for one side.

    Limits: ``max_message_size`` applies after decompression;
    ``max_frame_size`` to each frame on the wire. ``auto_pong`` answers
    pings. ``streaming`` reports ``Fragment`` events instead of whole
    messages. ``compress_min_size``: see DEFAULT_COMPRESS_MIN_SIZE;
    ``compression_idle``: see DEFAULT_COMPRESSION_IDLE.
    ``max_step_bytes`` / ``max_step_frames``: see DEFAULT_MAX_STEP_BYTES.

    Receiving happens in steps: ``receive_data`` parses the whole read but
    handles only one step of it; while ``events_pending()`` is true the
    driver calls ``next_events()`` (when it is ready for more: its queue
    has room, its output has drained, other connections had their turn)
    before reading again. While the connection is open a close frame
    starts a step of its own, so the messages before it are handled while
    the application can still reply, and the replies go out before the
    close echo.
    """

    # Slots: thousands of idle connections each save about 1 KiB of dict.
    __slots__ = (
        "_backlog", "_backlog_error", "_backlog_pos", "_eof_pending", "_unparsed",
        "_deferred_failure", "_deflate_idle", "_deflater", "_encoder", "_impl", "_inflater",
        "_inflating", "_last_seen", "_mem_level", "_one", "_out", "_parser", "_ping_sent", "_z_busy",
        "_ping_sent_at", "_plain_limit", "_received", "_sending_fragments",
        "_stream_compress", "_stream_opcode", "_stream_size", "_window_bits",
        "auto_pong", "bytes_pending", "close_code", "close_reason", "close_sent", "compress_min_size",
        "deflate", "extensions", "failure", "failure_kind", "handshake_error", "max_frame_size",
        "max_message_size", "max_step_bytes", "max_step_frames", "ready_state",
        "should_close", "streaming", "subprotocol",
    )

    is_server = True

    def __init__(
        self,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
        auto_pong: bool = True,
        streaming: bool = False,
        compress_min_size: int = DEFAULT_COMPRESS_MIN_SIZE,
        compression_window_bits: int = DEFAULT_WINDOW_BITS,
        compression_mem_level: int = DEFAULT_MEM_LEVEL,
        compression_idle: str = DEFAULT_COMPRESSION_IDLE,
        max_step_bytes: int = DEFAULT_MAX_STEP_BYTES,
        max_step_frames: int = DEFAULT_MAX_STEP_FRAMES,
        backend: ModuleType | None = None,
    ) -> None:
        self._impl = backend or _backend.impl
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self.auto_pong = auto_pong
        self.streaming = streaming
        self.compress_min_size = compress_min_size
        self._window_bits = compression_window_bits
        self._mem_level = compression_mem_level
        if compression_idle not in COMPRESSION_IDLE_MODES:
            raise ValueError("compression_idle must be 'window', 'keep' or 'adaptive'")
        self._deflate_idle = compression_idle
        self._z_busy = False  # "adaptive": a compressed message since the last tick
        if max_step_bytes < 1 or max_step_frames < 1:
            raise ValueError("max_step_bytes and max_step_frames must be at least 1")
        self.max_step_bytes = max_step_bytes
        self.max_step_frames = max_step_frames
        # A read not handled yet (see next_events): frames parsed for the
        # current step, and the bytes after them, not parsed yet.
        self._backlog: Any = None  # list of parsed frames, or None
        self._backlog_pos = 0
        self._backlog_error: ProtocolError | None = None  # the parser's error after those frames
        self._unparsed: bytes | None = None
        self._eof_pending = False  # the transport closed behind them
        self.ready_state = CONNECTING
        self.subprotocol: str | None = None
        self.extensions: str | None = None  # the negotiated Sec-WebSocket-Extensions value
        self.deflate: Any = None  # extensions.DeflateParams when negotiated
        self.close_code: int | None = None
        self.close_reason = ""
        self.close_sent: tuple[int, str] | None = None  # (code, reason) we sent
        self.should_close = False  # the transport should be closed now
        # A client's HandshakeError (to raise), or the reason a server refused.
        self.handshake_error: Exception | str | None = None
        # Frames queued for the transport: one frame alone in ``_one``
        # (most passes queue one, and a publish queues one per subscriber:
        # no list to make and free), two or more in the list ``_out``;
        # None when there are none.
        self._one: bytes | None = None
        self._out: list[bytes] | None = None
        #: Bytes queued for the transport (what ``data_to_send()`` would
        #: return), counted as frames are queued: a publish reads it for
        #: every subscriber, whose queue may hold a whole pass's frames.
        self.bytes_pending = 0
        # Created by the first frame received (see _new_parser): an idle
        # connection holds none.
        self._parser: Any = None
        self._encoder = _encoder_for(self._impl, self.is_server)
        self._deflater: Any = None
        self._inflater: Any = None
        self._inflating = False  # streaming: the open message is compressed
        self._stream_opcode = 0
        self._stream_size = 0  # streaming: bytes of the open plain message
        # With deflate the parser's limit allows for compressed data, so
        # plain messages are checked against max_message_size here.
        self._plain_limit = 0
        self._stream_compress = False
        self._sending_fragments = False
        self._deferred_failure: tuple[int, str] | None = None  # (code, reason): see _fail_with
        self.failure: tuple[int, str] | None = None  # (code, reason) when this side failed the connection
        self.failure_kind: str | None = None  # and why: FAILURE_PEER, _KEEPALIVE or _LOCAL
        self._ping_sent: bytes | None = None  # payload of the keepalive ping awaiting a pong
        self._ping_sent_at: float | None = None
        self._last_seen: float | None = None
        self._received = False

    def _copy_state(self, new: Any) -> None:
        """Give ``new`` (made by ``__new__``) this connection's whole state.

        For a never-used template: a server builds one connection from its
        options and copies it per accept, with no keyword parsing. Every
        value a fresh connection holds is immutable or shared.
        """
        new._backlog = self._backlog
        new._backlog_error = self._backlog_error
        new._backlog_pos = self._backlog_pos
        new._eof_pending = self._eof_pending
        new._unparsed = self._unparsed
        new._deferred_failure = self._deferred_failure
        new._deflate_idle = self._deflate_idle
        new._deflater = self._deflater
        new._encoder = self._encoder
        new._impl = self._impl
        new._inflater = self._inflater
        new._inflating = self._inflating
        new._last_seen = self._last_seen
        new._mem_level = self._mem_level
        new._one = self._one
        new._out = self._out
        new.bytes_pending = self.bytes_pending
        new._parser = self._parser
        new._ping_sent = self._ping_sent
        new._z_busy = self._z_busy
        new._ping_sent_at = self._ping_sent_at
        new._plain_limit = self._plain_limit
        new._received = self._received
        new._sending_fragments = self._sending_fragments
        new._stream_compress = self._stream_compress
        new._stream_opcode = self._stream_opcode
        new._stream_size = self._stream_size
        new._window_bits = self._window_bits
        new.auto_pong = self.auto_pong
        new.close_code = self.close_code
        new.close_reason = self.close_reason
        new.close_sent = self.close_sent
        new.compress_min_size = self.compress_min_size
        new.deflate = self.deflate
        new.extensions = self.extensions
        new.failure = self.failure
        new.failure_kind = self.failure_kind
        new.handshake_error = self.handshake_error
        new.max_frame_size = self.max_frame_size
        new.max_message_size = self.max_message_size
        new.max_step_bytes = self.max_step_bytes
        new.max_step_frames = self.max_step_frames
        new.ready_state = self.ready_state
        new.should_close = self.should_close
        new.streaming = self.streaming
        new.subprotocol = self.subprotocol

    # -- set-up once the handshake succeeded ------------------------------

    def _open(self, subprotocol: str | None, extensions: str | None,
              deflate: DeflateParams | None) -> None:
        impl = self._impl
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.deflate = deflate
        srv = self.is_server
        if deflate is not None:
            self._plain_limit = self.max_message_size or 0
            nct = deflate.deflate_no_context_takeover(srv)
            self._deflater = impl.Deflater(
                deflate.deflate_window_bits(srv, self._window_bits),
                self._mem_level,
                no_context_takeover=nct,
                release=nct,
                idle=self._deflate_idle,
            )
            nct = deflate.inflate_no_context_takeover(srv)
            self._inflater = impl.Inflater(
                deflate.inflate_window_bits(srv),
                self.max_message_size,
                no_context_takeover=nct,
                release=nct,
                idle=self._deflate_idle,
            )
        self.ready_state = OPEN

    def _new_parser(self) -> Any:
        """The frame parser, made when the first frame bytes arrive."""
        deflate = self.deflate
        self._parser = parser = self._impl.FrameParser(
            self.is_server,
            max_frame_size=self.max_frame_size,
            # Compressed messages are capped after inflating; on the wire,
            # allow deflate's worst-case growth over incompressible data.
            max_message_size=_wire_limit(self.max_message_size, deflate),
            allow_rsv1=deflate is not None,
            reassemble=not self.streaming,
        )
        return parser

    # -- output ------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes queued for the transport, and clears the queue."""
        output = self.take_output()
        if output is None:
            return b""
        return b"".join(output) if isinstance(output, list) else output

    def chunks_to_send(self) -> list[bytes]:
        """What ``data_to_send()`` would return, as the list of chunks
        queued (not joined), for a transport that writes them with one
        vectored call; clears the queue. Do not modify the list."""
        output = self.take_output()
        if output is None:
            return _NO_CHUNKS
        return output if isinstance(output, list) else [output]

    def take_output(self) -> bytes | list[bytes] | None:
        """What is queued for the transport, and clears the queue: one
        frame as bytes, several as a list of chunks (for one vectored
        write; do not modify it), or None."""
        if self._deferred_failure is not None:
            self.fail(*self._deferred_failure, kind=FAILURE_PEER)
            self._deferred_failure = None
        one = self._one
        if one is not None:
            self._one = None
            self.bytes_pending = 0
            return one
        out = self._out
        if out is None:
            return None
        self._out = None
        self.bytes_pending = 0
        return out

    def _queue(self, frame: bytes) -> None:
        one = self._one
        if one is not None:  # a second frame: both go in a list
            self._out = [one, frame]
            self._one = None
        elif self._out is None:
            self._one = frame
        else:
            self._out.append(frame)
        self.bytes_pending += len(frame)

    def output_pending(self) -> bool:
        """True if ``data_to_send()`` would return bytes: queued frames, or
        a failure whose close frame is still to be queued."""
        return self._one is not None or self._out is not None or self._deferred_failure is not None

    def frames_pending(self) -> int:
        """How many chunks ``data_to_send()`` would join (frames, mostly)."""
        if self._one is not None:
            return 1
        out = self._out
        return 0 if out is None else len(out)

    # -- sending -------------------------------------------------------------

    def _check_open(self) -> None:
        if self.ready_state != OPEN:
            raise InvalidState("connection is not open (ready_state %d)" % self.ready_state)

    def send(self, data: str | bytes | bytearray | memoryview, compress: bool | None = None) -> None:
        """Send a message: str as text, bytes-like as binary."""
        if self.ready_state != OPEN or self._sending_fragments or self._deflater is not None:
            # The general path, with its checks and compression.
            if isinstance(data, str):
                self.send_text(data.encode(), compress)
            else:
                self.send_binary(data, compress)
        elif isinstance(data, str):  # open, uncompressed: the hot path
            self._queue(self._encoder.encode(OP_TEXT, data))  # the encoder writes str as UTF-8
        else:
            self._queue(self._encoder.encode(OP_BINARY, data))

    def send_text(self, data: str | bytes, compress: bool | None = None) -> None:
        """Send a text message; ``data`` is str or UTF-8 bytes."""
        if isinstance(data, str):
            data = data.encode()
        self._send_message(OP_TEXT, data, compress)

    def send_binary(self, data: bytes | bytearray | memoryview, compress: bool | None = None) -> None:
        self._send_message(OP_BINARY, data, compress)

    def _send_message(self, opcode: int, data: bytes | bytearray | memoryview,
                      compress: bool | None) -> None:
        self._check_open()
        if self._sending_fragments:
            raise InvalidState("a fragmented message is open")
        if self._deflater is not None and (
            compress or (compress is None and len(data) >= self.compress_min_size)
        ):
            self._queue(self._encoder.encode(opcode, self._deflater.compress(data), True, True))
            self._z_busy = True
        else:
            self._queue(self._encoder.encode(opcode, data))

    def send_fragment(self, data: str | bytes | bytearray | memoryview, fin: bool, text: bool = False, first: bool = False,
                      compress: bool | None = None) -> None:
        """Send one frame of a message sent in pieces (streaming). Mark the
        first with ``first=True`` (``text`` chooses its opcode) and the last
        with ``fin=True``. Compression is decided on the first frame."""
        self._check_open()
        if isinstance(data, str):
            data = data.encode()
        if first == self._sending_fragments:
            raise InvalidState("a fragmented message is %s open" % ("already" if first else "not"))
        self._sending_fragments = not fin
        if first:
            self._stream_compress = self._deflater is not None and compress is not False
            opcode = OP_TEXT if text else OP_BINARY
        else:
            opcode = 0
        if self._stream_compress:
            data = self._deflater.compress(data, final=fin)
            self._z_busy = True
        self._queue(self._encoder.encode(opcode, data, fin, first and self._stream_compress))

    def send_prepared(self, prepared: PreparedMessage, plain: bytes | None = None) -> None:
        """Send a message prepared once for many connections (broadcast).
        ``plain``: ``prepared.plain``, from a loop over many connections
        that reads it once; an open server connection without compressor
        then queues it with no lookup on ``prepared``."""
        # (A client has no such path: ClientConnection refuses prepared messages.)
        if plain is not None and self._deflater is None and not self._sending_fragments \
                and self.ready_state == OPEN:
            self._queue(plain)
        else:
            self._queue(self.prepared_frame(prepared))

    def prepared_frame(self, prepared: PreparedMessage) -> bytes:
        """The frame ``send_prepared`` would queue, for a transport that
        writes it itself. Only valid while ``output_pending()`` is false:
        the frame must not overtake queued output."""
        self._check_open()
        if self._sending_fragments:
            raise InvalidState("a fragmented message is open")
        if not self.is_server:
            raise InvalidState("prepared messages are for servers (clients mask each frame)")
        deflater = self._deflater
        if deflater is None or len(prepared.payload) < self.compress_min_size:
            return prepared.plain
        frame = prepared.compressed(deflater.window_bits)
        # That frame was compressed without context. A compressor that keeps
        # context must not refer back to data the peer's window lacks, so it
        # starts afresh (RFC 7692 lets a sender drop context at any message).
        if not self.deflate.deflate_no_context_takeover(True):
            deflater.release()
        return frame

    def ping(self, data: bytes = b"") -> None:
        self._check_open()
        self._queue(self._encoder.encode(OP_PING, data))

    def pong(self, data: bytes = b"") -> None:
        self._check_open()
        self._queue(self._encoder.encode(OP_PONG, data))

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Start the close handshake. Data may not be sent afterwards."""
        if self.ready_state in (CLOSING, CLOSED):
            return
        if self.ready_state == CONNECTING:
            raise InvalidState("the handshake has not completed")
        payload = _close_payload(code, reason, self._impl.close_code_valid)
        self._send_close(code, reason, payload)

    def _send_close(self, code: int, reason: str, payload: bytes) -> None:
        self._queue(self._encoder.encode(OP_CLOSE, payload))
        self.close_sent = (code, reason)
        self.ready_state = CLOSING

    def fail(self, code: int, reason: str = "", kind: str = FAILURE_LOCAL) -> None:
        """Fail the connection (RFC 6455 7.1.7): send a close frame with
        ``code`` if possible, then ask for the transport to be closed.
        ``kind`` says who caused it (``failure_kind``)."""
        self.failure = (code, reason)
        self.failure_kind = kind
        self._backlog = self._unparsed = None  # nothing the peer sent counts now
        if self.ready_state == OPEN:
            self._send_close(code, reason, _close_payload(code, _short_reason(reason)))
        if self.close_code is None:
            self.close_code, self.close_reason = CLOSE_ABNORMAL, reason
        self.ready_state = CLOSED
        self.should_close = True

    # -- receiving ---------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[EventType]:
        """Feed bytes from the transport; returns the events of the first
        step they complete (see ``events_pending``)."""
        state = self.ready_state
        if state == CONNECTING:
            return self._receive_handshake(data)
        if state == CLOSED or self.close_code is not None:
            return []  # after a close frame the peer may send nothing more
        if self._inflater is not None or self.streaming or self._backlog is not None \
                or self._unparsed is not None:
            return self._receive_frames(data)
        # The hot path: one whole uncompressed message per read, the usual
        # case for request/response traffic. The parser has checked every
        # rule that applies to it (limits, UTF-8).
        self._received = True
        parser = self._parser
        if parser is None:
            parser = self._new_parser()
        limit = self.max_step_frames
        try:
            frames = parser.feed(data, limit)
        except ProtocolError as exc:
            return self._queue_frames(exc.frames, exc)
        n = len(frames)
        # Fewer frames than the limit: the parser used all of ``data``.
        if n == 1 and (limit > 1 or parser.consumed == len(data)):
            opcode, payload = frames[0][0], frames[0][1]
            if opcode == OP_BINARY:
                return [payload]
            if opcode == OP_TEXT:
                return [payload.decode("utf-8")]
            if opcode == OP_CLOSE:
                # The peer's close frame alone (a close right after the
                # handshake, or between messages): it is the whole step,
                # as _next_step would make it, without the backlog.
                events: list[EventType] = []
                self._handle_close(payload, events)
                return events
        if n >= limit:
            self._keep_unparsed(data, parser.consumed)
        return self._queue_frames(frames, None)

    def _receive_handshake(self, data: bytes | bytearray | memoryview,
                           ) -> list[EventType]:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _receive_frames(self, data: bytes | bytearray | memoryview) -> list[EventType]:
        if self.ready_state == CLOSED or (self.close_code is not None):
            return []  # after a close frame the peer may send nothing more
        self._received = True
        if self._backlog_error is not None:
            return self._next_step()  # the parser stopped at a violation
        if self._unparsed is not None:
            # The driver fed more before asking for the pending steps:
            # keep the order (it then holds more than one read).
            self._unparsed = bytes(self._unparsed) + bytes(data)
            return self._next_step()
        parser = self._parser
        if parser is None:
            parser = self._new_parser()
        limit = self.max_step_frames
        try:
            frames = parser.feed(data, limit)
        except ProtocolError as exc:
            return self._queue_frames(exc.frames, exc)
        if len(frames) >= limit:
            self._keep_unparsed(data, parser.consumed)
        return self._queue_frames(frames, None)

    def _keep_unparsed(self, data: bytes | bytearray | memoryview, consumed: int) -> None:
        if consumed < len(data):
            # A copy: ``data`` may be a view of the driver's read buffer.
            self._unparsed = bytes(data[consumed:])

    def _queue_frames(self, frames: list[Any], error: ProtocolError | None) -> list[EventType]:
        """Keep frames just parsed (and the parser's error after them, if
        any) behind those not handled yet; handle the next step."""
        backlog = self._backlog
        if backlog is None:
            self._backlog, self._backlog_pos = frames, 0
        else:
            backlog.extend(frames)
        if error is not None:
            self._backlog_error = error
            self._unparsed = None
        return self._next_step()

    def events_pending(self) -> bool:
        """True while data already received waits to be handled: call
        ``next_events()`` before feeding more."""
        return self._backlog is not None or self._unparsed is not None

    def next_events(self) -> list[EventType]:
        """The events of the next step of data already received."""
        if self._backlog is None and self._unparsed is None:
            return []
        return self._next_step()

    def _next_step(self) -> list[EventType]:
        events: list[EventType] = []
        budget, count = self.max_step_bytes, self.max_step_frames
        while True:
            frames = self._backlog
            if frames is None:
                if self._unparsed is None or self.close_code is not None:
                    break
                if not self._parse_unparsed(count):
                    break
                frames = self._backlog
            i, n = self._backlog_pos, len(frames)
            try:
                while i < n:
                    if self.close_code is not None:
                        i = n  # nothing counts after the peer's close frame
                        break
                    frame = frames[i]
                    if frame[0] == OP_CLOSE and events and self.ready_state == OPEN:
                        # A step of its own, so that the application can
                        # answer what came before (see the class docstring);
                        # once we sent our close frame nobody can.
                        break
                    i += 1
                    budget -= self._handle_frame(frame, events)
                    count -= 1
                    if budget <= 0 or count <= 0:
                        break
            except ProtocolError as exc:
                self._backlog = self._backlog_error = self._unparsed = None
                self._fail_with(exc, events)
                return self._after_backlog(events)
            if i < n and self._backlog is not None:
                self._backlog_pos = i
                return events  # the step's budget is spent
            error = self._backlog_error
            self._backlog = self._backlog_error = None
            if error is not None:
                self._unparsed = None
                self._fail_with(error, events)
                break
            if self.close_code is not None:
                self._unparsed = None
                break
            if budget <= 0 or count <= 0:
                return events if self._unparsed is not None else self._after_backlog(events)
        return self._after_backlog(events)

    def _parse_unparsed(self, count: int) -> bool:
        """Parse up to ``count`` more frames of the bytes kept back into
        the backlog; False if that yielded nothing to handle."""
        data, self._unparsed = self._unparsed, None
        parser = self._parser
        try:
            frames = parser.feed(data, count)
        except ProtocolError as exc:
            frames, self._backlog_error = exc.frames, exc
        else:
            if len(frames) >= count:
                self._keep_unparsed(data, parser.consumed)  # type: ignore[arg-type]  # data was set
        if not frames and self._backlog_error is None:
            return False  # the rest was a partial frame: the parser keeps it
        self._backlog, self._backlog_pos = frames, 0
        return True

    def _after_backlog(self, events: list[EventType]) -> list[EventType]:
        if self._eof_pending:
            events += self._eof()
        return events

    def _fail_with(self, exc: ProtocolError, events: list[EventType]) -> None:
        if self.close_code is None:
            if events and self.ready_state == OPEN:
                # Messages that arrived before the bad frame are reported
                # first; what the application sends in answer to them goes
                # out before our close frame, which data_to_send() queues
                # (RFC 6455 7.1.7 fails the connection, not the data before).
                self._deferred_failure = self.failure = (exc.code, exc.reason)
                self.failure_kind = FAILURE_PEER
                self.close_code, self.close_reason = CLOSE_ABNORMAL, exc.reason
                self.should_close = True
            else:
                self.fail(exc.code, exc.reason, FAILURE_PEER)  # sets close_code to 1006
            events.append(Close(CLOSE_ABNORMAL, exc.reason))

    def _handle_frame(self, frame: tuple[int, bytes, bool, bool], events: list[EventType]) -> int:
        """Handle one parsed frame; returns the payload bytes it delivered."""
        opcode, payload, fin, rsv1 = frame
        if opcode == OP_TEXT or opcode == OP_BINARY or opcode == 0:
            if self.streaming:
                return self._handle_fragment(opcode, payload, fin, rsv1, events)
            if rsv1:
                payload = self._inflater.decompress(payload, True, opcode == OP_TEXT)
                self._z_busy = True
            elif self._plain_limit and len(payload) > self._plain_limit:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            if opcode == OP_TEXT:
                # Already validated (by the parser, or while inflating).
                events.append(payload.decode("utf-8"))
            else:
                events.append(payload)
        elif opcode == OP_PING:
            if self.auto_pong and self.ready_state == OPEN:
                self._queue(self._encoder.encode(OP_PONG, payload))
            events.append(Ping(payload))
        elif opcode == OP_PONG:
            if self._ping_sent is not None and payload == self._ping_sent:
                self._ping_sent = self._ping_sent_at = None
            events.append(Pong(payload))
        else:
            self._handle_close(payload, events)
        return len(payload)

    def _handle_fragment(self, opcode: int, payload: bytes, fin: bool, rsv1: bool,
                         events: list[EventType]) -> int:
        if opcode:
            self._stream_opcode = opcode
            self._inflating = rsv1
            self._stream_size = 0
        if self._inflating:
            payload = self._inflater.decompress(payload, fin, self._stream_opcode == OP_TEXT)
            self._z_busy = True
        elif self._plain_limit:
            self._stream_size += len(payload)
            if self._stream_size > self._plain_limit:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
        events.append(Fragment(self._stream_opcode, payload, fin))
        return len(payload)

    def _handle_close(self, payload: bytes, events: list[EventType]) -> None:
        if payload:
            code = int.from_bytes(payload[:2], "big")
            reason = payload[2:].decode("utf-8")
        else:
            code, reason = CLOSE_NO_STATUS, ""
        self.close_code, self.close_reason = code, reason
        if self.ready_state == OPEN:
            # Echo the code (RFC 6455 5.5.1); 1005 is never put on the wire.
            self._send_close(code, reason, payload[:2])
        self.ready_state = CLOSED
        # The server closes TCP first (RFC 6455 7.1.1); a client waits for
        # it, and its driver closes after a timeout.
        self.should_close = self.is_server
        events.append(Close(code, reason))

    def receive_eof(self, discard: bool = False) -> list[EventType]:
        """The transport closed. Returns [Close] unless one was reported.

        Messages received before the end are still reported first: while
        ``events_pending()``, this returns the next step and ``Close``
        ends the last one. ``discard=True`` (a driver dropping the peer)
        forgets them instead."""
        if self._backlog is not None or self._unparsed is not None:
            if not discard:
                self._eof_pending = True
                return self._next_step()
            self._backlog = self._backlog_error = self._unparsed = None
        return self._eof()

    def _eof(self) -> list[EventType]:
        self._eof_pending = False
        self.should_close = True
        self.ready_state = CLOSED
        if self.close_code is not None:
            return []
        self.close_code, self.close_reason = CLOSE_ABNORMAL, ""
        return [Close(CLOSE_ABNORMAL, "")]

    # -- keepalive (the driver owns the clock) -----------------------------

    def keepalive(self, now: float, ping_interval: float, ping_timeout: float | None,
                  park: bool = True) -> bool:
        """Call periodically with the current time. Sends a ping after
        ``ping_interval`` seconds without incoming data and fails the
        connection (1011) when no pong comes within ``ping_timeout``.
        Returns True if it queued something to send. With
        ``compression_idle="adaptive"`` and ``park`` it also parks the
        compression streams of a connection that was idle since the last
        call (a driver with a park sweep of its own passes False: two
        clocks clearing one mark would park busy connections)."""
        if self.ready_state != OPEN:
            return False
        if park and self._deflate_idle == "adaptive" and self._deflater is not None:
            self.park_compression(idle_only=True)
        if not ping_interval:
            return False
        if self._received or self._last_seen is None:
            self._received = False
            self._last_seen = now
        if self._ping_sent is not None:
            if ping_timeout and now - self._ping_sent_at >= ping_timeout:  # type: ignore[operator]
                self.fail(CLOSE_INTERNAL_ERROR, KEEPALIVE_TIMEOUT_REASON, FAILURE_KEEPALIVE)
                return True
            return False
        if now - self._last_seen >= ping_interval:
            self._ping_sent = int(now * 1000).to_bytes(8, "big")
            self._ping_sent_at = now
            self.ping(self._ping_sent)
            return True
        return False

    @property
    def parks_compression(self) -> bool:
        """True if compression was negotiated with ``compression_idle="adaptive"``:
        a driver's park sweep (``compression_used``, ``park_compression``) has work."""
        return self._deflater is not None and self._deflate_idle == "adaptive"

    def compression_used(self) -> bool:
        """True if a compressed message passed either way since the last
        call (or ``keepalive()`` tick); clears the mark. The driver's
        park sweep parks a connection that was busy and now is not."""
        busy = self._z_busy
        self._z_busy = False
        return busy

    def park_compression(self, idle_only: bool = False) -> bool:
        """Give zlib's state back between messages, keeping only the window
        each way (``compression_idle="adaptive"``; the next message primes
        a new stream with it, same bytes on the wire). ``idle_only``: only
        if no compressed message passed since the last call. Returns True
        if both directions are parked (or there is no compression)."""
        if idle_only and self._z_busy:
            self._z_busy = False
            return False
        self._z_busy = False
        if self._deflater is None:
            return True
        # False while a fragmented message is half done: kept until later.
        return bool(self._deflater.park()) & bool(self._inflater.park())


_NO_CHUNKS: list[bytes] = []  # chunks_to_send() with nothing queued; never modified

#: One encoder per backend for every server-side connection: a server
#: never masks, so its encoder holds no per-connection state.
_SERVER_ENCODERS: dict[Any, Any] = {}


def _encoder_for(impl: Any, is_server: bool) -> Any:
    if not is_server:
        return impl.FrameEncoder(True)  # its own pool of mask keys
    encoder = _SERVER_ENCODERS.get(impl)
    if encoder is None:
        encoder = _SERVER_ENCODERS[impl] = impl.FrameEncoder(False)
    return encoder


def keepalive_tick(ping_interval: float, ping_timeout: float | None) -> float:
    """Seconds between a driver's calls of ``Connection.keepalive``."""
    shorter = min(ping_interval, ping_timeout or ping_interval)
    return min(KEEPALIVE_TICK_MAX, max(KEEPALIVE_TICK_MIN, shorter / 4))


def _wire_limit(limit: int | None, deflate: DeflateParams | None) -> int | None:
    if not limit or deflate is None:
        return limit
    return limit + (limit >> 10) + 64


def _short_reason(reason: str) -> str:
    """``reason`` cut to fit a close frame (123 bytes of UTF-8)."""
    raw = reason.encode("utf-8")
    return reason if len(raw) <= 123 else raw[:123].decode("utf-8", "ignore")


def _close_payload(code: int, reason: str | bytes,
                   code_valid: Callable[[int], bool] | None = None) -> bytes:
    """Close frame payload. With ``code_valid`` (the codec's
    ``close_code_valid``, the one copy of RFC 6455 7.4's rule) the code
    and reason are checked: the application's close must be sendable."""
    raw = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if code_valid is not None:
        if not isinstance(code, int) or not 0 <= code <= 0xFFFF or not code_valid(code):
            raise ValueError("close code %r may not be sent" % (code,))
        if len(raw) > 123:
            raise ValueError("close reason is over 123 bytes")
    return code.to_bytes(2, "big") + raw
