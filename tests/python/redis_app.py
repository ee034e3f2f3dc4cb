"""A topic server on a Redis bus, for test_redis_bus.py.

    python redis_app.py REDIS_URL WORKERS

Prints its port. Every connection subscribes to 'room' when it opens.
Messages: 'pub:TEXT' (server.publish to 'room', no answer), 'stats'
(answers 'stats ' + JSON of this worker's bus counters and state)."""

import json
import os
import sys

from wsfast.bus import RedisBus
from wsfast.server import Server, run_workers


def make(url):
    def factory(port=0):
        server = Server("127.0.0.1", port, reuse_port=True, compression=False, ping_interval=None,
                        bus=RedisBus(url, prefix="test", backoff_min=0.05, backoff_max=0.5))

        @server.on("open")
        def opened(ws):
            ws.subscribe("room")

        @server.on("message")
        def message(ws, text):
            verb, _, rest = text.partition(":")
            if verb == "pub":
                server.publish("room", rest)
            elif verb == "stats":
                bus = server.bus
                stats = {name: getattr(bus.stats, name) for name in bus.stats.__slots__}
                stats.update(pid=os.getpid(), ready=bus.ready, channels=bus.core.redis_channels)
                ws.send("stats " + json.dumps(stats))

        return server
    return factory


def ready(server):
    print(server.port, flush=True)


if __name__ == "__main__":
    sys.exit(run_workers(make(sys.argv[1]), int(sys.argv[2]), on_ready=ready))
