"""The server side of bench_redis_latency.py: a wsfast server on a Redis
bus. ``python redis_bench_app.py REDIS_URL WORKERS`` prints its port.

A connection to /sub subscribes to 'bench'. A text message 'pub' makes
the server publish its CLOCK_MONOTONIC time in nanoseconds to 'bench'
(the stamp is taken at the publish call, so the latency measured is
publish to receipt)."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))

from wsfast.bus import RedisBus  # noqa: E402
from wsfast.server import Server, run_workers  # noqa: E402


def factory(url):
    def make(port=0):
        server = Server("127.0.0.1", port, reuse_port=True, compression=False, ping_interval=None,
                        bus=RedisBus(url, prefix="bench"))

        @server.on("open")
        def opened(ws):
            if ws.request.path == "/sub":
                ws.subscribe("bench")

        @server.on("message")
        def message(ws, text):
            if text == "pub":
                server.publish("bench", str(time.monotonic_ns()))
            elif text == "stats":
                ws.send(repr(server.bus.stats))

        return server
    return make


if __name__ == "__main__":
    sys.exit(run_workers(factory(sys.argv[1]), int(sys.argv[2]),
                         on_ready=lambda server: print(server.port, flush=True)))
