"""wsfast as uvicorn's WebSocket backend (``--ws wsfast.uvicorn:WSFastProtocol``).

Moved to ``wsfast.asgi.uvicorn``; this path stays for existing imports."""

from typing import TYPE_CHECKING

from ._moved import alias

if TYPE_CHECKING:
    from .asgi.uvicorn import *  # noqa: F401,F403
else:
    alias(__name__, "wsfast.asgi.uvicorn")
