"""ConnectionClosed and friends.

Moved to ``wsfast.protocol.closed``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.closed import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.closed")
