"""Broadcast servers for the suite's ``broadcast`` scenario, one per stack,
each run as its own process:

    python3 benchmarks/broadcast_servers.py STACK --port P

STACK is one of ``wsfast``, ``picows``, ``websockets``, ``aiohttp``. Every
server listens on 127.0.0.1 only, with compression and keepalive pings off,
and does one thing: whenever any client sends a binary message, the server
sends that message to every open connection (the sender included), in the
way the stack's documentation suggests for a broadcast:

* wsfast: ``server.broadcast(message)`` (the frame is encoded once);
* websockets: ``websockets.asyncio.server.broadcast(server.connections, message)``;
* picows: ``transport.send(BINARY, message)`` on every connected transport;
* aiohttp: ``await ws.send_bytes(message)`` on every open WebSocketResponse.

The peers run on uvloop. The soft RLIMIT_NOFILE is raised to the hard limit
first, so that thousands of clients fit.
"""

import asyncio
import sys

import common
from servers import HOST, serve

STACKS = ("wsfast", "picows", "websockets", "aiohttp")

REQUIRES = {stack: common.REQUIRES[stack] for stack in STACKS}


def run_wsfast(port):
    from wsfast.server import Server

    def on_message(ws, message):
        server.broadcast(message)

    server = Server(HOST, port, on_message=on_message, compression=False, ping_interval=None,
                    backlog=4096)
    server.listen()
    server.run()


async def picows_main(port):
    from picows import WSListener, WSMsgType, ws_create_server

    clients = set()

    class Listener(WSListener):
        def on_ws_connected(self, transport):
            clients.add(transport)

        def on_ws_disconnected(self, transport):
            clients.discard(transport)

        def on_ws_frame(self, transport, frame):
            t = frame.msg_type
            if t == WSMsgType.BINARY:
                message = frame.get_payload_as_bytes()
                for c in clients:
                    c.send(WSMsgType.BINARY, message)
            elif t == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

    server = await ws_create_server(lambda request: Listener(), HOST, port,
                                    websocket_handshake_timeout=10)
    async with server:
        await server.serve_forever()


async def websockets_main(port):
    from websockets.asyncio.server import broadcast, serve

    holder = {}

    async def handler(ws):
        async for message in ws:
            broadcast(holder["server"].connections, message)

    async with serve(handler, HOST, port, compression=None, max_size=None,
                     ping_interval=None, backlog=4096) as server:
        holder["server"] = server
        await server.serve_forever()


async def aiohttp_main(port):
    from aiohttp import WSMsgType, web

    clients = set()

    async def handler(request):
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, autoping=True)
        await ws.prepare(request)
        clients.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    for c in list(clients):
                        if not c.closed:
                            await c.send_bytes(msg.data)
        finally:
            clients.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port, backlog=4096).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


MAINS = {"picows": picows_main, "websockets": websockets_main, "aiohttp": aiohttp_main}


def main(argv=None):
    return serve(argv, __doc__.split("\n\n")[0], STACKS, MAINS, run_wsfast)


if __name__ == "__main__":
    sys.exit(main())
