"""HTTP request and response heads.

Moved to ``wsfast.protocol.http``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .protocol.http import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.protocol.http")
