"""Processes of the hostile-input suite, each started by the tests with
their own interpreter and printing ``READY <json>`` once ready:

    roles.py server '{"kind": "epoll"|"asyncio", "options": {...}, "tls": [cert, key]}'
    roles.py probe URL INTERVAL TIMEOUT      # echo round trips until "stop" on stdin
    roles.py aclient URL '{"options": {...}}'  # asyncio client that never calls recv
"""

import asyncio
import json
import signal
import ssl
import sys
import threading
import time


def _ready(**info):
    print("READY " + json.dumps(info), flush=True)


def _server_context(tls):
    if not tls:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    return ctx


def serve_epoll(options, tls):
    from wsfast.server import Server

    def echo(ws, message):
        ws.send(message)

    server = Server("127.0.0.1", 0, on_message=echo, ssl=_server_context(tls), **options)
    server.listen()
    _ready(port=server.port)
    server.run()  # until SIGTERM


def serve_asyncio(options, tls):
    import wsfast.asyncio as wsa

    async def handler(ws):
        if ws.request.path == "/echo":
            async for message in ws:
                await ws.send(message)
        else:  # never reads: whatever the peer sends must stay bounded
            await ws.wait_closed()

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with wsa.serve(handler, "127.0.0.1", 0, ssl=_server_context(tls), **options) as server:
            _ready(port=list(server.sockets)[0].getsockname()[1])
            await stop.wait()
            server.close()
            await asyncio.wait_for(server.wait_closed(), 5)

    asyncio.run(main())


def probe(url, interval, timeout):
    """A good client: echo round trips, one at a time, every ``interval``."""
    from wsfast.client import connect

    stop = threading.Event()

    def watch_stdin():
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    latencies, failures, errors = [], 0, []
    message = "probe " + "x" * 58
    options = dict(open_timeout=timeout)
    if url.startswith("wss:"):  # the suite's throwaway certificate
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        options["ssl"] = ctx
    ws = connect(url, **options)
    _ready()
    hard_deadline = time.monotonic() + 120  # bounded whatever happens
    while not stop.is_set() and time.monotonic() < hard_deadline:
        try:
            if ws is None:
                ws = connect(url, **options)
            t0 = time.perf_counter()
            ws.send(message)
            got = ws.recv(timeout=timeout)
            if got != message:
                raise AssertionError("echo mismatch")
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # counted: a failure of service
            failures += 1
            if len(errors) < 5:
                errors.append(repr(exc))
            try:
                if ws is not None:
                    ws._sock.close()
            except Exception:
                pass
            ws = None
            time.sleep(0.05)
        stop.wait(interval)
    print("RESULT " + json.dumps(dict(latencies=latencies, failures=failures, errors=errors)), flush=True)


def aclient(url, spec):
    """An asyncio client that connects and then only waits (never calls
    recv); it stays until SIGTERM or 60 s."""
    import wsfast.asyncio as wsa

    async def main():
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ws = await wsa.connect(url, **spec.get("options", {}))
        _ready()
        try:
            await asyncio.wait_for(stop.wait(), 60)
        except asyncio.TimeoutError:
            pass
        ws.transport.abort()

    asyncio.run(main())


def main(argv):
    role = argv[0]
    if role == "server":
        spec = json.loads(argv[1])
        options = spec.get("options", {})
        tls = spec.get("tls")
        {"epoll": serve_epoll, "asyncio": serve_asyncio}[spec["kind"]](options, tls)
    elif role == "probe":
        probe(argv[1], float(argv[2]), float(argv[3]))
    elif role == "aclient":
        aclient(argv[1], json.loads(argv[2]))
    else:
        raise SystemExit("unknown role %r" % role)


if __name__ == "__main__":
    main(sys.argv[1:])
