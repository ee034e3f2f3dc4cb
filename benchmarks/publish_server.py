"""The wsfast side of bench_publish_bun.py: one worker; every connection
subscribes to one topic; any message a client sends is published to it
with ``server.publish``. Loopback only, compression and pings off.

    python publish_server.py PORT"""

import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))

from wsfast.server import Server  # noqa: E402


def main(port):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    server = Server("127.0.0.1", port, compression=False, ping_interval=None, backlog=4096,
                    on_open=lambda ws: ws.subscribe("t"),
                    on_message=lambda ws, message: server.publish("t", message))
    server.listen()
    server.run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
