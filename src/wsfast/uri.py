"""ws:// and wss:// addresses.

Moved to ``wsfast.protocol.uri``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.uri import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.uri")
