"""The receiving side of bench_redis_latency.py, in its own process.

    python redis_latency_client.py ws PORT CONNECTIONS SECONDS
    python redis_latency_client.py raw REDIS_PORT CHANNEL SECONDS

``ws``: CONNECTIONS wsfast clients on ws://127.0.0.1:PORT/sub; ``raw``:
one minimal Redis subscriber (a socket and hiredis.Reader) on CHANNEL.
Prints 'ready' once subscribed, then for SECONDS (or until no message
came for 2 s after the first) takes every message, a CLOCK_MONOTONIC
stamp in ns, and finally prints one line of JSON: the count and the
latencies' p50/p99/max in microseconds."""

import asyncio
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))


def summary(latencies):
    latencies.sort()
    n = len(latencies)
    pick = (lambda q: latencies[min(n - 1, int(q * n))] / 1000.0) if n else (lambda q: None)
    return {"count": n, "p50_us": pick(0.50), "p99_us": pick(0.99), "max_us": pick(1.0)}


async def run_ws(port, connections, seconds):
    from wsfast.asyncio.client import connect

    sockets = [await connect("ws://127.0.0.1:%d/sub" % port, compression=False) for _ in range(connections)]
    latencies = []
    print("ready", flush=True)

    async def take(ws):
        while True:
            message = await ws.recv()
            latencies.append(time.monotonic_ns() - int(message))

    tasks = [asyncio.ensure_future(take(ws)) for ws in sockets]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    return latencies


def run_raw(port, channel, seconds):
    import hiredis

    from wsfast.bus.resp import command

    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(command(b"SUBSCRIBE", channel.encode()))
    reader = hiredis.Reader()
    latencies, ready, end = [], False, time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        now = time.monotonic_ns()
        reader.feed(data)
        while (reply := reader.gets()) is not False:
            if reply[0] == b"subscribe" and not ready:
                ready = True
                print("ready", flush=True)
            elif reply[0] == b"message":
                latencies.append(now - int(reply[2]))
    return latencies


def main():
    mode, port, arg, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    if mode == "ws":
        latencies = asyncio.run(run_ws(port, int(arg), seconds))
    else:
        latencies = run_raw(port, arg, seconds)
    print(json.dumps(summary(latencies)), flush=True)


if __name__ == "__main__":
    main()
