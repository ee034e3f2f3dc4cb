# A user's script with deliberate type errors: tests/python/test_typing.py
# runs mypy on it and expects each line marked "expect:" to be reported
# with that error code, and nothing else.
from __future__ import annotations

import asyncio

from wsfast import FrameParser
from wsfast.client import connect
from wsfast.events import Close, Open
from wsfast.server import Server, WebSocket
from wsfast.server_protocol import ServerConnection


def on_message(ws: WebSocket, message: str | bytes) -> None:
    ws.send(42)  # expect: arg-type


server = Server("127.0.0.1", "8080", on_message=on_message)  # expect: arg-type


def on_close(ws: WebSocket) -> None:
    pass


Server(on_close=on_close)  # expect: arg-type

ws = connect("ws://localhost:8765/")
reply: int = ws.recv()  # expect: assignment
ws.close(reason=1000)  # expect: arg-type

frames = FrameParser(server=True).feed(b"")
opcode: str = frames[0][0]  # expect: assignment

conn = ServerConnection()
for event in conn.receive_data(b""):
    if isinstance(event, Close):
        code: str = event.code  # expect: assignment
    elif isinstance(event, Open):
        event.subprotocol.upper()  # expect: union-attr


async def client() -> None:
    from wsfast.asyncio import connect as aconnect

    async with aconnect("ws://localhost:8765/") as aws:
        aws.send("not awaited")  # expect: unused-coroutine
        await aws.send(b"ok")

asyncio.run(client())
