"""Echo servers for ``bench_server.py``, one per stack, each run as its own
process:

    python3 benchmarks/servers.py STACK --port P

STACK is one of ``wsfast``, ``picows``, ``websockets``, ``aiohttp``,
``rawtcp``. Every server listens on 127.0.0.1 only, with compression off,
and echoes every message back as it came (text as text, binary as binary);
``rawtcp`` echoes bytes. The peers run on uvloop; ``wsfast`` is
``python -m wsfast echo --workers 1 --no-compression`` run in this very
process (so the PID the benchmark watches is the server's).

Before starting, the soft RLIMIT_NOFILE is raised to the hard limit, for
the idle-connections scenario.

Profiling (wsfast only, for finding hot spots): with
``WSFAST_BENCH_PROFILE=FILE`` set, the server runs under cProfile and
writes the stats to FILE when it stops (SIGTERM makes wsfast shut down
gracefully, so the stats are written).
"""

import asyncio
import os
import resource
import runpy
import sys

import common

STACKS = ("wsfast", "picows", "websockets", "aiohttp", "rawtcp")

# Modules each stack needs (common.REQUIRES); a stack whose modules are
# missing is skipped.
REQUIRES = {stack: common.REQUIRES[stack] for stack in STACKS}

HOST = "127.0.0.1"


def raise_nofile():
    """Soft RLIMIT_NOFILE up to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


# -- wsfast ----------------------------------------------------------------------


def run_wsfast(port):
    sys.argv = ["wsfast", "echo", "--host", HOST, "--port", str(port),
                "--workers", "1", "--no-compression"]
    target = os.environ.get("WSFAST_BENCH_PROFILE")
    if not target:
        runpy.run_module("wsfast", run_name="__main__", alter_sys=True)
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.enable()
        runpy.run_module("wsfast", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(target)


# -- picows ------------------------------------------------------------------------


async def picows_main(port):
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_frame(self, transport, frame):
            t = frame.msg_type
            if t == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif t == WSMsgType.TEXT or t == WSMsgType.BINARY or t == WSMsgType.CONTINUATION:
                transport.send(t, frame.get_payload_as_memoryview(), frame.fin)

    server = await ws_create_server(lambda request: Echo(), HOST, port,
                                    websocket_handshake_timeout=10)
    async with server:
        await server.serve_forever()


# -- websockets ------------------------------------------------------------------------


async def websockets_main(port):
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, HOST, port, compression=None, max_size=None,
                     ping_interval=None) as server:
        await server.serve_forever()


# -- aiohttp ---------------------------------------------------------------------------------


async def aiohttp_main(port):
    from aiohttp import WSMsgType, web

    async def echo(request):
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


# -- raw TCP floor -------------------------------------------------------------------------------


async def rawtcp_main(port):
    import socket

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data):
            self.transport.write(data)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, HOST, port)
    async with server:
        await server.serve_forever()


MAINS = {"picows": picows_main, "websockets": websockets_main,
         "aiohttp": aiohttp_main, "rawtcp": rawtcp_main}


def serve(argv, description, stacks, mains, wsfast_runner):
    """Command line shared by the server modules: ``STACK --port P``;
    wsfast runs its own loop, every peer runs on uvloop."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("stack", choices=stacks)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    raise_nofile()
    if args.stack == "wsfast":
        wsfast_runner(args.port)
        return 0
    import uvloop

    try:
        uvloop.run(mains[args.stack](args.port))
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    return serve(argv, __doc__.split("\n\n")[0], STACKS, MAINS, run_wsfast)


if __name__ == "__main__":
    sys.exit(main())
