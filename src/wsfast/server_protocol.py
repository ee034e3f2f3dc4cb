"""The server side of the sans-I/O connection.

Moved to ``wsfast.protocol.server_connection``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.server_connection import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.server_connection")
