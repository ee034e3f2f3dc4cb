"""The blocking client.

Moved to ``wsfast.sync.client``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .sync.client import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.sync.client")
