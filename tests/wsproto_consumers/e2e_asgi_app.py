"""An ASGI echo app for the end-to-end tests: echoes every message; the
text "which wsproto" answers with the module that ``import wsproto`` gives
in the server process; "close" makes the server close (1000, "bye")."""

import sys


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "close":
            await send({"type": "websocket.close", "code": 1000, "reason": "bye"})
            return
        if message.get("text") == "which wsproto":
            await send({"type": "websocket.send", "text": sys.modules["wsproto"].__name__})
        elif message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
