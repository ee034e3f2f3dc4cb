"""A topic server on several workers, for test_fanout.py.

    python fanout_app.py WORKERS

Prints its port. Messages: 'sub:T' (answers 'ok PID'), 'pub:T:TEXT'
(server.publish, no answer), 'peers:T' (answers 'peers PID N': N other
workers known here to want T), 'stats' (answers the bus counters)."""

import sys

from wsfast.server import Server, run_workers


def make(port=0):
    server = Server("127.0.0.1", port, reuse_port=True, compression=False, ping_interval=None)

    @server.on("message")
    def message(ws, text):
        import os

        verb, _, rest = text.partition(":")
        if verb == "sub":
            ws.subscribe(rest)
            ws.send("ok %d" % os.getpid())
        elif verb == "pub":
            topic, _, body = rest.partition(":")
            server.publish(topic, body)
        elif verb == "peers":
            ws.send("peers %d %d" % (os.getpid(), server.bus.workers_interested(rest)))
        elif verb == "stats":
            s = server.bus.stats
            ws.send("stats %d %d %d %d" % (s.sent, s.received, s.dropped, s.gaps))

    return server


def ready(server):
    print(server.port, flush=True)


if __name__ == "__main__":
    sys.exit(run_workers(make, int(sys.argv[1]), on_ready=ready))
