"""The protocol's events.

Moved to ``wsfast.protocol.events``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.events import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.events")
