"""A server that browsers may reach only from listed sites: the Origin
header is checked in the handshake (403 otherwise), which stops other web
pages from opening a WebSocket with your users' cookies (CSWSH).

    python examples/origin_allowlist.py --port 8765 --origin https://example.com
"""

import argparse

from wsfast.server import Server

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8765)
parser.add_argument("--origin", action="append", default=[], help="an allowed Origin (repeatable)")
parser.add_argument("--allow-no-origin", action="store_true",
                    help="also let in clients that send no Origin (non-browsers)")
args = parser.parse_args()

allowed = list(args.origin or ["https://example.com"])
if args.allow_no_origin:
    allowed.append(None)  # None stands for "no Origin header"
server = Server(args.host, args.port, origins=allowed)


@server.on("message")
def echo(ws, message):
    ws.send(message)


server.listen()  # bind now, to print the port
print("listening on ws://%s:%d/ for %s" % (args.host, server.port, ", ".join(map(str, allowed))),
      flush=True)
server.run()
