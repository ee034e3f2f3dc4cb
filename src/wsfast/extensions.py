"""permessage-deflate negotiation.

Moved to ``wsfast.protocol.extensions``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.extensions import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.extensions")
