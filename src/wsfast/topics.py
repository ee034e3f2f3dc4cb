"""Topics (publish/subscribe) for the drivers.

Moved to ``wsfast.shared.topics``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .shared.topics import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.shared.topics")
