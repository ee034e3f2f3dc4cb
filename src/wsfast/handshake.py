"""The opening handshake.

Moved to ``wsfast.protocol.handshake``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.handshake import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.handshake")
