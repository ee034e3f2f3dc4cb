"""A typed asyncio echo server and a client talking to it."""

from __future__ import annotations

import asyncio

from wsfast.asyncio import ConnectionClosed, ServerWebSocket, connect, serve


async def echo(ws: ServerWebSocket) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed as exc:
        print("closed:", exc.code)


async def main() -> None:
    async with serve(echo, "127.0.0.1", 0) as server:
        port: int = server.sockets[0].getsockname()[1]
        async with connect("ws://127.0.0.1:%d/" % port) as ws:
            await ws.send("hello")
            reply: str | bytes = await ws.recv()
            rtt: float = await (await ws.ping())
            print(reply, "round trip %.6f s" % rtt)
            await ws.close(1000, "done")


if __name__ == "__main__":
    asyncio.run(main())
