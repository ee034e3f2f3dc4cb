"""Messages encoded once, sent to many.

Moved to ``wsfast.codec.prepared``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .codec.prepared import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.codec.prepared")
