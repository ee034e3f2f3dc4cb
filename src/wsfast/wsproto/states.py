"""wsproto's connection states and ends, apart from the connection so
that both builds of it (wsfast._twins) share the same enum members."""

from enum import Enum


class ConnectionState(Enum):
    """RFC 6455 section 4: where the connection is."""

    CONNECTING = 0
    OPEN = 1
    REMOTE_CLOSING = 2
    LOCAL_CLOSING = 3
    CLOSED = 4
    REJECTING = 5


class ConnectionType(Enum):
    """Which end of the connection this is."""

    CLIENT = 1
    SERVER = 2


CLIENT = ConnectionType.CLIENT
SERVER = ConnectionType.SERVER
