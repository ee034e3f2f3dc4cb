"""trio-websocket client for bench_wsproto_trio.py: MODE (ping-pong or
burst) with N messages of 64 B against URL; prints "seconds cpu_seconds".
Run it through ``python -m wsfast.wsproto`` to use the drop-in."""

import sys
import time

import trio
from trio_websocket import open_websocket_url

BURST = 100


async def run(url, mode, n):
    payload = "x" * 64
    async with open_websocket_url(url) as ws:
        await ws.send_message(payload)
        await ws.get_message()
        wall, cpu = time.perf_counter(), time.process_time()
        if mode == "ping-pong":
            for _ in range(n):
                await ws.send_message(payload)
                await ws.get_message()
        else:
            for _ in range(n // BURST):
                for _ in range(BURST):
                    await ws.send_message(payload)
                for _ in range(BURST):
                    await ws.get_message()
        print("%.6f %.6f" % (time.perf_counter() - wall, time.process_time() - cpu))


if __name__ == "__main__":
    trio.run(run, sys.argv[1], sys.argv[2], int(sys.argv[3]))
