"""The ASGI WebSocket state machine of the uvicorn backend, sans I/O.

What an application may send in which phase, what it receives and in
what order, and the close code its ``websocket.disconnect`` carries
(ASGI spec 2.4 with the ``websocket.http.response`` extension). It owns
no socket, no event loop and no clock: the driver (``asgi/uvicorn.py``)
reports what happened on the connection and does what ``app_send``
answers. The WebSocket rules themselves (frames, the close handshake)
stay in ``protocol.ServerConnection``.

The application's side, in phases (``Phase``)::

    HANDSHAKE --websocket.accept-----------------------------> OPEN
        |  \\                                                    |
        |   websocket.http.response.start --> RESPONSE          | websocket.close
        |                                       | last body     |
        +--websocket.close (403) -------------- +-------------> CLOSED

A failed accept (a subprotocol not offered), a refused request or a lost
connection before the app answered also lead to CLOSED. In every phase
a message not drawn on that arrow raises RuntimeError, and once the
connection is lost every send answers ``Action.DISCONNECTED``.

What the application receives: ``websocket.connect`` first, then the
peer's messages (``websocket.receive``) until a close frame goes out or
comes in, then one ``websocket.disconnect``, given again if it asks again.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from ..constants import CLOSE_ABNORMAL, CLOSE_SERVICE_RESTART
from ..shared import backpressure

__all__ = ["Phase", "Action", "ASGIWebSocketState", "Message", "RawHeaders",
           "CLOSE_BEFORE_ACCEPT_STATUS", "APP_FAILED_STATUS", "SHUTDOWN_CLOSE_CODE"]

#: An ASGI message, as sent or received by the application.
Message = dict[str, Any]
#: ASGI headers: (name, value) byte-string pairs.
RawHeaders = list[tuple[bytes, bytes]]

#: The HTTP status of ``websocket.close`` sent before ``websocket.accept``
#: (ASGI: "403 Forbidden").
CLOSE_BEFORE_ACCEPT_STATUS = 403
#: The HTTP status when the app fails (or returns) before it answered.
APP_FAILED_STATUS = 500
#: The close code sent to accepted connections when the server shuts down.
SHUTDOWN_CLOSE_CODE = CLOSE_SERVICE_RESTART

# A denial's framing is the server's: these headers of the app's are dropped
# (the server computes Content-Length and sends Connection: close).
_DENIAL_DROPPED_HEADERS = frozenset([b"content-length", b"transfer-encoding", b"connection"])

_ACCEPT = "websocket.accept"
_SEND = "websocket.send"
_CLOSE = "websocket.close"
_RESPONSE_START = "websocket.http.response.start"
_RESPONSE_BODY = "websocket.http.response.body"


class Phase(enum.Enum):
    """Where the application stands (see the module's diagram)."""

    #: The upgrade request is waiting for the app's answer.
    HANDSHAKE = "handshake"
    #: A denial response was started; its body parts follow.
    RESPONSE = "response"
    #: Accepted: the app sends and closes.
    OPEN = "open"
    #: The app closed, was answered, or can send nothing more.
    CLOSED = "closed"


class Action(enum.Enum):
    """What the driver does for a message the app sent (``app_send``)."""

    #: ``websocket.accept``: accept the handshake (then ``opened`` or
    #: ``handshake_failed``).
    ACCEPT = "accept"
    #: ``websocket.close`` before accept: refuse with
    #: CLOSE_BEFORE_ACCEPT_STATUS (then ``rejected``).
    REJECT = "reject"
    #: ``websocket.http.response.start``: nothing to send yet.
    RESPONSE_START = "response start"
    #: A body part with more to come: nothing to send yet.
    RESPONSE_BODY = "response body"
    #: The last body part: send ``take_response()`` (then ``rejected``).
    RESPONSE_END = "response end"
    #: ``websocket.send``: send its ``bytes`` or ``text``.
    SEND = "send"
    #: ``websocket.close`` after accept: send a close frame (then
    #: ``app_closed``).
    CLOSE = "close"
    #: The connection is gone: the app's send fails (uvicorn's
    #: ClientDisconnected).
    DISCONNECTED = "disconnected"


class ASGIWebSocketState:
    """One WebSocket connection's ASGI state, from the upgrade request on.

    ``messages`` holds what the application has not received yet (a
    ``backpressure.MessageQueue``: the driver pauses reading while it is
    ``paused``). Methods that queue a message return True when they did,
    so that the driver wakes a waiting ``receive``.
    """

    __slots__ = ("phase", "accepted", "closing", "disconnected", "started",
                 "messages", "disconnect", "_response")

    def __init__(self, max_queue: int | None = backpressure.MAX_QUEUE,
                 max_queue_bytes: int | None = backpressure.MAX_QUEUE_BYTES) -> None:
        self.phase = Phase.HANDSHAKE
        #: The 101 went out.
        self.accepted = False
        #: A close frame or a final response went out, or the peer's close
        #: arrived: later messages are not delivered, and reading goes on
        #: whatever the queue holds (to find the peer's close).
        self.closing = False
        #: The transport is gone.
        self.disconnected = False
        #: The upgrade request reached the app (``websocket.connect`` queued).
        self.started = False
        self.messages = backpressure.MessageQueue(max_queue, max_queue_bytes)
        #: The ``websocket.disconnect`` message, once decided.
        self.disconnect: Message | None = None
        # A denial in progress: (status, headers, body parts).
        self._response: tuple[int, RawHeaders, list[bytes]] | None = None

    def __repr__(self) -> str:
        return "<ASGIWebSocketState %s%s%s>" % (
            self.phase.name, " closing" if self.closing else "",
            " disconnected" if self.disconnected else "")

    # -- the application's input -----------------------------------------------

    def request(self) -> bool:
        """The upgrade request arrived: queue ``websocket.connect``."""
        if self.started or self.phase is not Phase.HANDSHAKE:
            raise RuntimeError("the upgrade request was already handled")
        self.started = True
        self.messages.put({"type": "websocket.connect"}, 0)
        return True

    def message(self, data: str | bytes) -> bool:
        """A message from the peer: queued as ``websocket.receive`` unless
        the connection is closing (then dropped; False)."""
        if self.closing:
            return False
        if type(data) is str:
            self.messages.put({"type": "websocket.receive", "text": data},
                              backpressure.message_size(data))
        else:
            self.messages.put({"type": "websocket.receive", "bytes": data},
                              backpressure.message_size(data))
        return True

    def receive(self) -> Message | None:
        """The app's next message, or None: nothing yet, wait for one.
        After the disconnect, the disconnect again."""
        if self.messages:
            message: Message = self.messages.get()
            return message
        return self.disconnect

    # -- what happened on the connection ---------------------------------------

    def peer_closed(self, code: int, reason: str, sent: tuple[int, str] | None) -> bool:
        """The connection's Close event: the peer's close frame, or 1006 for
        an end without one. ``sent`` is the close frame we sent, if any."""
        if self.closing:
            # The peer answered our close frame: the app already has its
            # disconnect (or needs none).
            return False
        self.closing = True
        if code == CLOSE_ABNORMAL:
            # We failed the connection (protocol error, too big...): report
            # the code we sent; else the transport was lost.
            return self._disconnect(*sent) if sent is not None else self._disconnect(CLOSE_ABNORMAL)
        return self._disconnect(code, reason)

    def handshake_failed(self) -> bool:
        """The handshake ended without a 101: an invalid or non-upgrade
        request (answered by the connection), or an accept the connection
        refused. A started app gets a 1006 disconnect."""
        self.phase = Phase.CLOSED
        self.closing = True
        return self._disconnect(CLOSE_ABNORMAL) if self.started else False

    def opened(self) -> None:
        """The 101 went out (``Action.ACCEPT`` succeeded)."""
        if self.phase is not Phase.HANDSHAKE:
            raise RuntimeError("accepted in phase %s" % self.phase.name)
        self.phase = Phase.OPEN
        self.accepted = True

    def app_closed(self, code: int, reason: str) -> bool:
        """The app's close frame went out (``Action.CLOSE``)."""
        self.phase = Phase.CLOSED
        self.closing = True
        return self._disconnect(code, reason)

    def rejected(self) -> bool:
        """An HTTP answer went out in place of the 101 (``Action.REJECT``,
        ``Action.RESPONSE_END``, or the server's 500)."""
        self.phase = Phase.CLOSED
        self.closing = True
        return self._disconnect(CLOSE_ABNORMAL)

    def server_closing(self, code: int | None = None, reason: str | None = None) -> bool:
        """The server sent a close frame of its own: at shutdown, on a
        keepalive timeout (``code``, ``reason``: reported to the app), or
        after the app failed (``code`` None: no one to tell)."""
        self.closing = True
        return False if code is None else self._disconnect(code, reason)

    def connection_lost(self) -> None:
        """The transport is gone: the app's sends fail from now on. Call
        ``input_ended`` once the messages received before are queued."""
        self.disconnected = True
        if self.phase is Phase.HANDSHAKE:
            self.phase = Phase.CLOSED

    def input_ended(self) -> bool:
        """No more input: the disconnect (1006) follows the messages
        received, unless a close already decided its code."""
        return self._disconnect(CLOSE_ABNORMAL)

    def _disconnect(self, code: int, reason: str | None = None) -> bool:
        if self.disconnect is not None:
            return False
        message: Message = {"type": "websocket.disconnect", "code": code}
        if reason is not None:
            message["reason"] = reason
        self.disconnect = message
        self.messages.put(message, 0)
        return True

    # -- the application's output ----------------------------------------------

    def app_send(self, message: Mapping[str, Any]) -> Action:
        """What to do for ``message`` from the app (RuntimeError if it is
        not allowed in this phase)."""
        if self.disconnected:
            return Action.DISCONNECTED
        mtype = message["type"]
        phase = self.phase
        if phase is Phase.OPEN:
            if mtype == _SEND:
                return Action.SEND
            if mtype == _CLOSE:
                return Action.CLOSE
            raise RuntimeError(
                "Expected ASGI message 'websocket.send' or 'websocket.close', "
                "but got '%s'." % mtype)
        if phase is Phase.RESPONSE:
            if mtype != _RESPONSE_BODY:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.http.response.body' but got '%s'." % mtype)
            assert self._response is not None
            self._response[2].append(bytes(message.get("body", b"")))
            return Action.RESPONSE_BODY if message.get("more_body", False) else Action.RESPONSE_END
        if phase is Phase.HANDSHAKE:
            if mtype == _ACCEPT:
                return Action.ACCEPT
            if mtype == _CLOSE:
                return Action.REJECT
            if mtype == _RESPONSE_START:
                status = message["status"]
                if not 200 <= status <= 599:
                    raise RuntimeError("Invalid HTTP status code '%d' in response." % status)
                self.phase = Phase.RESPONSE
                self._response = (status, list(message.get("headers", ())), [])
                return Action.RESPONSE_START
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' "
                "or 'websocket.http.response.start' but got '%s'." % mtype)
        raise RuntimeError("Unexpected ASGI message '%s', after sending 'websocket.close'." % mtype)

    def take_response(self) -> tuple[int, RawHeaders, bytes]:
        """The denial response, whole: (status, headers, body). The app's
        Content-Length, Transfer-Encoding and Connection headers are
        dropped: the server frames the answer. The app can send nothing
        more (CLOSED), even if sending it fails."""
        if self._response is None:
            raise RuntimeError("no denial response was started")
        status, headers, body = self._response
        self._response = None
        self.phase = Phase.CLOSED
        return status, _denial_headers(headers), b"".join(body)


def _denial_headers(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    return [(n, v) for n, v in headers if bytes(n).lower() not in _DENIAL_DROPPED_HEADERS]
