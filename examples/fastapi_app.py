"""A FastAPI app whose WebSockets run on wsfast inside uvicorn:

    pip install ".[uvicorn]" fastapi
    uvicorn examples.fastapi_app:app --ws wsfast.uvicorn:WSFastProtocol --port 8000
    # or: python examples/fastapi_app.py --port 8000

The app is plain FastAPI; only uvicorn's ``--ws`` option changes.
"""

import argparse

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
members: set[WebSocket] = set()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/ws")
async def room(ws: WebSocket) -> None:
    await ws.accept()
    members.add(ws)
    try:
        while True:
            text = await ws.receive_text()
            for member in list(members):
                await member.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(ws)


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, ws="wsfast.uvicorn:WSFastProtocol")
