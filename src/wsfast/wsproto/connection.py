"""``wsproto.connection``: the WebSocket connection after the handshake.

wsproto's policy, on wsfast's codec: nothing is answered automatically
(the caller sends ``Ping.response()`` and the close reply), the states go
OPEN -> LOCAL_CLOSING / REMOTE_CLOSING -> CLOSED as close frames pass,
``receive_data(None)`` reports a 1006 close, and a peer's protocol error
is reported as a ``CloseConnection`` event carrying the RFC close code.
``Connection`` is in ``_connection.py``, compiled with the C extension
(wsfast._twins picks the build).
"""

from typing import TYPE_CHECKING

from .._twins import load
# wsproto's connection module has these names too (it imports them): code
# written against wsproto may import them from here.
from .events import (BytesMessage, CloseConnection, Event, Message, Ping, Pong,
                     TextMessage)
from .frame_protocol import CloseReason, Opcode, ParseFailed
from .states import CLIENT, SERVER, ConnectionState, ConnectionType
from .utilities import LocalProtocolError

if TYPE_CHECKING:  # both builds have the same names (wsfast._twins)
    from ._connection import Connection
else:
    Connection = load("wsfast.wsproto._connection").Connection

__all__ = ["CLIENT", "SERVER", "BytesMessage", "CloseConnection", "CloseReason", "Connection",
           "ConnectionState", "ConnectionType", "Event", "LocalProtocolError", "Message",
           "Opcode", "ParseFailed", "Ping", "Pong", "TextMessage"]
