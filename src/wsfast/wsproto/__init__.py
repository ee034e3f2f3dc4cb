"""A drop-in for wsproto (1.3.x) on wsfast's codec.

Servers and clients written for wsproto (hypercorn, simple-websocket and
Flask-Sock, trio-websocket, httpx-ws) run unchanged on it once ``import
wsproto`` resolves here: call ``install()`` before they import wsproto, or
start them with ``python -m wsfast.wsproto <module> [args]``.

The differences from wsproto, each on purpose, are listed in
docs/drop-ins.md ("Differences from wsproto").
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator

from . import limits
from .connection import Connection, ConnectionState, ConnectionType
from .events import Event
from .handshake import H11Handshake
from .typing import Headers

#: The wsproto release whose API this mirrors (consumers check it).
__version__ = "1.3.2"

#: The submodules ``install()`` publishes as ``wsproto.<name>``.
SUBMODULES = ("connection", "events", "extensions", "frame_protocol", "handshake",
              "typing", "utilities")


class WSConnection:
    """One end of a WebSocket connection, handshake included.

    Once the handshake has made the ``Connection``, ``send`` and
    ``receive_data`` become that connection's own bound methods (instance
    attributes shadow the class's), so each message costs one call, not two.
    """

    def __init__(self, connection_type: ConnectionType) -> None:
        self.client = connection_type is ConnectionType.CLIENT
        self.handshake = H11Handshake(connection_type)
        self.connection: Connection | None = None

    @property
    def state(self) -> ConnectionState:
        connection = self.connection
        return self.handshake.state if connection is None else connection.state

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        self.handshake.initiate_upgrade_connection(headers, path)

    def _connected(self) -> None:
        connection = self.connection = self.handshake.connection
        if connection is not None:
            self.send = connection.send  # type: ignore[method-assign]
            self.receive_data = connection.receive_data  # type: ignore[method-assign]

    def send(self, event: Event) -> bytes:
        """The bytes to send to the peer for ``event``."""
        connection = self.connection
        if connection is not None:
            return connection.send(event)
        data = self.handshake.send(event)
        self._connected()
        return data

    def receive_data(self, data: bytes | None) -> None:
        """Feed bytes received from the peer (None: the transport closed)."""
        connection = self.connection
        if connection is not None:
            connection.receive_data(data)
            return
        self.handshake.receive_data(data)
        self._connected()

    def events(self) -> Iterator[Event]:
        """The events the received data produced."""
        connection = self.connection
        if connection is not None and not self.handshake.pending():
            return connection.events()  # the usual case: one generator, not two
        return self._all_events()

    def _all_events(self) -> Generator[Event, None, None]:
        yield from self.handshake.events()
        if self.connection is not None:
            yield from self.connection.events()


def install() -> None:
    """Make ``import wsproto`` (and its submodules) give this package.

    Must run before anything imports wsproto: a module that already did
    keeps the original. Raises RuntimeError if the original wsproto was
    already imported, rather than leave a process running both.
    """
    current = sys.modules.get("wsproto")
    if current is sys.modules[__name__]:
        return
    if current is not None:
        raise RuntimeError("wsproto was imported before wsfast.wsproto.install()")
    from importlib import import_module

    sys.modules["wsproto"] = sys.modules[__name__]
    for name in SUBMODULES:
        sys.modules["wsproto." + name] = import_module(__name__ + "." + name)


def installed() -> bool:
    """Whether ``import wsproto`` gives this package."""
    return sys.modules.get("wsproto") is sys.modules[__name__]


__all__ = ("ConnectionType", "WSConnection", "install", "installed", "limits")
