"""The server side of the scale scenario: worker processes sharing one
port through SO_REUSEPORT, each answering the harness's control channel.

    python -m benchmarks.scale.servers --stack wsfast --workers 6 --port P --control DIR

- ``wsfast``: ``wsfast.server.run_workers`` over ``Server(reuse_port=True)``,
  with the documented backpressure settings (``write_high_water``,
  ``write_low_water``, ``max_buffered``) and ``Server.broadcast``. The
  control socket is read by a small thread that hands each command to the
  loop with ``call_soon_threadsafe``.
- ``websockets``: ``websockets.asyncio.server.serve(reuse_port=True)`` on
  uvloop in each worker, and ``websockets.asyncio.server.broadcast``.
- ``picows``: ``ws_create_server(reuse_port=True)`` on uvloop, and a loop
  of ``transport.send`` over the open transports (picows has no broadcast).

Every stack runs with keepalive pings and compression off, so that the
only traffic is the scenario's. Worker commands (JSON, see control.py):

- ``stats``: open clients, opened/closed/dropped so far, slow clients.
- ``broadcast at size tag to policy``: at CLOCK_MONOTONIC instant ``at``,
  broadcast one ``size``-byte binary message carrying (at, send instant,
  tag) to every client (``to="all"``) or to the slow ones (``"slow"``);
  answers reached/eligible and how long the call and the flush took.
- ``publish at size tag publisher topic early`` (wsfast, with
  ``--topic``): the same message published to ``topic``, to which every
  connection subscribed when it opened, by the worker whose PID is
  ``publisher`` alone (``server.publish``: its own subscribers, and the
  others through the workers' bus); the other workers answer at once.
  ``early``: a variant that hands the message to the bus and flushes it
  before writing to its own subscribers (``server.bus.publish``,
  ``server.bus.flush``, then ``server.broadcast``), to measure what that
  order would change.
- ``pressure size count policy interval``: ``count`` broadcasts of
  ``size`` bytes to the slow clients only, one per loop pass or one every
  ``interval`` seconds; answers how many were
  reached and skipped, how many clients were dropped, and the output they
  have buffered.
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from benchmarks.scale.control import WorkerEndpoint  # noqa: E402
from benchmarks.scale.procs import raise_nofile  # noqa: E402

STAMP = struct.Struct("<ddI")  # the same layout the client reads
DROP_REASON = "output buffer over max_buffered"  # wsfast's on_close reason


class Worker:
    """Stack-independent command handling; ``stack`` supplies clients(),
    broadcast(payload, targets, policy), call_later(delay, fn, *args),
    buffered(client)."""

    def __init__(self, endpoint, stack):
        self.endpoint = endpoint
        self.stack = stack
        self.slow = set()
        self.opened = self.closed = self.dropped = 0

    # counters, called by the stacks' handlers
    def on_open(self, client):
        self.opened += 1

    def on_message(self, client, message):
        if message == "slow" or message == b"slow":
            self.slow.add(client)
            on_slow = getattr(self.stack, "on_slow", None)
            if on_slow is not None:
                on_slow(client)

    def on_close(self, client, reason=""):
        self.closed += 1
        self.slow.discard(client)
        if reason == DROP_REASON:
            self.dropped += 1

    def handle(self, cmd, addr):
        name = cmd["cmd"]
        if name == "stats":
            self.endpoint.reply(addr, self.stats(cmd))
        elif name == "broadcast":
            delay = cmd["at"] - time.monotonic()
            self.stack.call_later(max(0.0, delay), self._fire, cmd, addr)
        elif name == "publish":
            if cmd["publisher"] != os.getpid():
                count = self.stack.subscriber_count(cmd["topic"])
                self.endpoint.reply(addr, {"seq": cmd.get("seq"), "reached": 0, "eligible": count,
                                           "late": 0.0, "call": 0.0, "flushed": 0.0})
                return
            delay = cmd["at"] - time.monotonic()
            self.stack.call_later(max(0.0, delay), self._fire, cmd, addr)
        elif name == "pressure":
            self._pressure(cmd, addr, 0, 0, 0)
        else:
            self.endpoint.reply(addr, {"seq": cmd.get("seq"), "error": "unknown command"})

    def stats(self, cmd):
        sizes = [self.stack.buffered(c) for c in self.slow]
        sizes = [s for s in sizes if s is not None]
        return {"seq": cmd.get("seq"), "clients": len(self.stack.clients()), "opened": self.opened,
                "closed": self.closed, "dropped": self.dropped, "slow": len(self.slow),
                "slow_buffered": sum(sizes), "slow_buffered_max": max(sizes, default=0)}

    def _fire(self, cmd, addr):
        t0 = time.monotonic()
        payload = STAMP.pack(cmd["at"], t0, cmd["tag"]).ljust(cmd["size"], b"x")
        if cmd["cmd"] == "publish":
            # reached: this worker's own subscribers; the others' go through the bus
            eligible = self.stack.subscriber_count(cmd["topic"])
            reached = self.stack.publish(cmd["topic"], payload, cmd.get("early", False))
        else:
            targets = None if cmd.get("to", "all") == "all" else list(self.slow)
            eligible = len(self.stack.clients()) if targets is None else len(targets)
            reached = self.stack.broadcast(payload, targets, cmd.get("policy", "skip"))
        t1 = time.monotonic()
        # A timer due now runs on the next pass, after the loop's flush.
        self.stack.call_later(0, self._fired, cmd, addr, t0, t1, reached, eligible)

    def _fired(self, cmd, addr, t0, t1, reached, eligible):
        t2 = time.monotonic()
        self.endpoint.reply(addr, {"seq": cmd.get("seq"), "reached": reached, "eligible": eligible,
                                   "late": t0 - cmd["at"], "call": t1 - t0, "flushed": t2 - t0})

    def _pressure(self, cmd, addr, done, reached, offered):
        if done < cmd["count"] and self.slow:
            payload = b"p" * cmd["size"]
            targets = list(self.slow)
            reached += self.stack.broadcast(payload, targets, cmd.get("policy", "skip"))
            offered += len(targets)
            self.stack.call_later(cmd.get("interval", 0), self._pressure, cmd, addr, done + 1, reached, offered)
            return
        answer = self.stats(cmd)
        answer.update(rounds=done, reached=reached, offered=offered, skipped=offered - reached)
        self.endpoint.reply(addr, answer)


# -- wsfast -------------------------------------------------------------------------------------


def run_wsfast(args):
    from wsfast.server import Server, run_workers

    parent = os.getpid()

    class Stack:
        def __init__(self, server):
            self.server = server

        def clients(self):
            return self.server.clients

        def broadcast(self, payload, targets, policy):
            return self.server.broadcast(payload, targets, slow=policy)

        def call_later(self, delay, fn, *a):
            self.server.call_later(delay, fn, *a)

        def subscriber_count(self, topic):
            return self.server.subscriber_count(topic)

        def publish(self, topic, payload, early):
            if not early:
                return self.server.publish(topic, payload)
            # Every client here subscribes to the one topic, so its local
            # subscribers are all the clients: broadcast reaches the same ones.
            bus = self.server.bus
            if bus is not None:
                bus.publish(topic, payload)
                bus.flush()
            return self.server.broadcast(payload)

        def buffered(self, ws):
            return ws.buffered_amount if ws.ready_state == 1 else None

        def on_slow(self, ws):
            # Stand-in for a slow client's full kernel buffers: without it,
            # loopback's send-buffer autotuning (about 1 MiB a socket) would
            # have to be filled for each slow client before the server's
            # own buffering and its water marks come into play.
            if args.slow_sndbuf:
                ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.slow_sndbuf)

    def on_open(ws, holder):
        if args.topic:
            ws.subscribe(args.topic)
        holder["w"].on_open(ws)

    def make_server(port=None):
        holder = {}
        server = Server(
            args.host, port or args.port,
            on_open=lambda ws: on_open(ws, holder),
            on_message=lambda ws, m: holder["w"].on_message(ws, m),
            on_close=lambda ws, code, reason: holder["w"].on_close(ws, reason),
            reuse_port=True, ping_interval=None, compression=False,
            write_high_water=args.high_water, write_low_water=args.low_water,
            max_buffered=args.max_buffered,
        )
        if os.getpid() != parent or args.workers == 1:  # not run_workers' probe
            endpoint = WorkerEndpoint(args.control)
            worker = holder["w"] = Worker(endpoint, Stack(server))

            def reader():
                while True:
                    try:
                        cmd, addr = endpoint.recv()
                    except OSError:
                        return
                    server.call_soon_threadsafe(worker.handle, cmd, addr)

            threading.Thread(target=reader, name="control", daemon=True).start()
        return server

    return run_workers(make_server, args.workers)


# -- asyncio peers -----------------------------------------------------------------------------


class AsyncioStack:
    def __init__(self, loop):
        self.loop = loop

    def call_later(self, delay, fn, *a):
        self.loop.call_later(delay, fn, *a)

    def buffered(self, client):
        return None


def attach_control(loop, endpoint, worker):
    endpoint.sock.setblocking(False)

    def readable():
        while True:
            try:
                cmd, addr = endpoint.recv()
            except (BlockingIOError, InterruptedError):
                return
            worker.handle(cmd, addr)

    loop.add_reader(endpoint.sock.fileno(), readable)


async def websockets_worker(args):
    import asyncio

    from websockets.asyncio.server import broadcast, serve

    loop = asyncio.get_running_loop()
    stack = AsyncioStack(loop)
    worker = Worker(WorkerEndpoint(args.control), stack)

    async def handler(ws):
        worker.on_open(ws)
        try:
            async for message in ws:
                worker.on_message(ws, message)
        except Exception:
            pass
        finally:
            worker.on_close(ws)

    async with serve(handler, args.host, args.port, reuse_port=True, compression=None,
                     ping_interval=None, open_timeout=60, backlog=1024) as server:
        stack.clients = lambda: server.connections

        def do_broadcast(payload, targets, policy):
            conns = server.connections if targets is None else targets
            n = len(conns)
            broadcast(conns, payload)  # no backpressure: queues for everyone
            return n

        stack.broadcast = do_broadcast
        attach_control(loop, worker.endpoint, worker)
        await server.serve_forever()


async def picows_worker(args):
    import asyncio

    from picows import WSListener, WSMsgType, ws_create_server

    loop = asyncio.get_running_loop()
    stack = AsyncioStack(loop)
    worker = Worker(WorkerEndpoint(args.control), stack)
    transports = set()

    class Listener(WSListener):
        def on_ws_connected(self, transport):
            self.transport = transport
            transports.add(transport)
            worker.on_open(transport)

        def on_ws_frame(self, transport, frame):
            t = frame.msg_type
            if t == WSMsgType.TEXT:
                worker.on_message(transport, frame.get_payload_as_ascii_text())
            elif t == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

        def on_ws_disconnected(self, transport):
            transports.discard(transport)
            worker.on_close(transport)

    def do_broadcast(payload, targets, policy):
        n = 0
        for t in (transports if targets is None else targets):
            t.send(WSMsgType.BINARY, payload)
            n += 1
        return n

    stack.clients = lambda: transports
    stack.broadcast = do_broadcast
    server = await ws_create_server(lambda request: Listener(), args.host, args.port,
                                    reuse_port=True, websocket_handshake_timeout=60, backlog=1024)
    attach_control(loop, worker.endpoint, worker)
    async with server:
        await server.serve_forever()


def run_asyncio(args, worker_main):
    """Fork the workers; each runs its own uvloop loop on the shared port."""
    import signal

    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                import uvloop

                uvloop.run(worker_main(args))
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    for _ in children:
        try:
            os.wait()
        except ChildProcessError:
            break
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", choices=("wsfast", "websockets", "picows"), default="wsfast")
    p.add_argument("--workers", type=int, default=6)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--control", required=True, help="control-socket directory")
    p.add_argument("--high-water", type=int, default=64 * 1024)
    p.add_argument("--low-water", type=int, default=16 * 1024)
    p.add_argument("--max-buffered", type=int, default=1024 * 1024)
    p.add_argument("--topic", help="wsfast: every connection subscribes to this topic when it opens")
    p.add_argument("--slow-sndbuf", type=int, default=8192,
                   help="SO_SNDBUF for clients that say they are slow (0: leave it)")
    args = p.parse_args(argv)
    raise_nofile()
    if args.stack == "wsfast":
        return run_wsfast(args)
    return run_asyncio(args, websockets_worker if args.stack == "websockets" else picows_worker)


if __name__ == "__main__":
    sys.exit(main())
