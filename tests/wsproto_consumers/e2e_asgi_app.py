"""A Starlette echo app for the end-to-end tests (hypercorn serves it on
the drop-in): one WebSocket route at ``/`` echoes every message; the text
"which wsproto" answers with the module that ``import wsproto`` gives in
the server process; "close" makes the server close (1000, "bye")."""

import sys

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text == "close":
            await websocket.close(1000, "bye")
            return
        if text == "which wsproto":
            await websocket.send_text(sys.modules["wsproto"].__name__)
        elif text is not None:
            await websocket.send_text(text)
        else:
            await websocket.send_bytes(message["bytes"])


app = Starlette(routes=[WebSocketRoute("/", echo)])
