"""The wsfast side of bench_topics_bun.py: one worker, many topics.

A text message ``sub NAME NAME ...`` subscribes its connection to those
topics (``ws.subscribe``) and is answered with the text ``ok``; a binary
message is published (``server.publish``) to topic ``t<N>``, N being its
first 4 bytes (big-endian). Loopback only, compression and pings off.
``--step-frames N`` sets the server's ``max_step_frames`` (frames of one
read handled per loop pass; what a pass publishes leaves in one write
per subscriber when it ends).

    python topics_server.py PORT [--step-frames N]"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))
sys.path.insert(0, HERE)

from servers import HOST, raise_nofile  # noqa: E402
from wsfast.server import Server  # noqa: E402


def main(port, step_frames=None):
    raise_nofile()

    def on_message(ws, message):
        if type(message) is str:
            names = message.split()
            if names[:1] == ["sub"]:
                for name in names[1:]:
                    ws.subscribe(name)
                ws.send("ok")
            return
        publish("t%d" % int.from_bytes(message[:4], "big"), message)

    options = {"max_step_frames": step_frames} if step_frames else {}
    server = Server(HOST, port, compression=False, ping_interval=None, backlog=4096,
                    on_message=on_message, **options)
    publish = server.publish
    server.listen()
    server.run()


if __name__ == "__main__":
    opts = sys.argv[2:]
    main(int(sys.argv[1]), int(opts[opts.index("--step-frames") + 1]) if "--step-frames" in opts else None)
