"""The wsfast side of bench_topics_bun.py: one worker, many topics.

A text message ``sub NAME NAME ...`` subscribes its connection to those
topics (``ws.subscribe``) and is answered with the text ``ok``; a binary
message is published (``server.publish``) to topic ``t<N>``, N being its
first 4 bytes (big-endian). Loopback only, compression and pings off.

``--queued``: a prototype of a different publish, to measure it, not an
API: the message is encoded once and queued on each subscriber
(``ws.send_prepared``) for the loop's flush at the end of the pass, so
that what one pass publishes leaves in one write per subscriber, as
uWebSockets does; ``server.publish`` writes to each subscriber at once.
It reads the server's topic registry (a private name) and skips the
backpressure rules; every client here reads. ``--step-frames N`` sets
each connection's ``max_step_frames`` (128 by default: the frames of one
read handled per loop pass), so that one pass can take more of the
publisher's messages, and publish more, before the flush.

    python topics_server.py PORT [--queued] [--step-frames N]"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))
sys.path.insert(0, HERE)

from servers import HOST, raise_nofile  # noqa: E402
from wsfast.codec.prepared import PreparedMessage  # noqa: E402
from wsfast.server import Server  # noqa: E402


def main(port, queued=False, step_frames=None):
    raise_nofile()

    def on_open(ws):
        if step_frames:
            ws.conn.max_step_frames = step_frames

    def publish_queued(topic, message):
        prepared = PreparedMessage(message)
        for ws in server._topics.subscribers(topic):
            ws.send_prepared(prepared)

    def on_message(ws, message):
        if type(message) is str:
            names = message.split()
            if names[:1] == ["sub"]:
                for name in names[1:]:
                    ws.subscribe(name)
                ws.send("ok")
            return
        publish("t%d" % int.from_bytes(message[:4], "big"), message)

    server = Server(HOST, port, compression=False, ping_interval=None, backlog=4096,
                    on_message=on_message, on_open=on_open)
    publish = publish_queued if queued else server.publish
    server.listen()
    server.run()


if __name__ == "__main__":
    opts = sys.argv[2:]
    main(int(sys.argv[1]), "--queued" in opts,
         int(opts[opts.index("--step-frames") + 1]) if "--step-frames" in opts else None)
