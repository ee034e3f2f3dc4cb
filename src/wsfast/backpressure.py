"""The drivers' message queue and write limits.

Moved to ``wsfast.shared.backpressure``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .shared.backpressure import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.shared.backpressure")
