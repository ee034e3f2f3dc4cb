"""A broadcast chat in the style of Node's ``ws``:

    wss.on('connection', ws => ws.on('message', data => ...broadcast...))

Run it, then connect any WebSocket client: every line is sent to everyone.

    python examples/broadcast_chat.py --port 8765
"""

import argparse
import itertools
import logging

from wsfast.server import OPEN, Server

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8765)
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

wss = Server(args.host, args.port, max_message_size=64 * 1024)
numbers = itertools.count(1)


@wss.on("connection")  # Node: wss.on('connection', ws => ...); "open" also works
def connection(ws):
    ws.data["name"] = "guest%d" % next(numbers)
    ws.send("welcome, %s" % ws.data["name"])


@wss.on("message")  # Node: ws.on('message', data => ...), one handler for all
def message(ws, data):
    # Node: wss.clients.forEach(c => c.readyState === WebSocket.OPEN && c.send(data))
    others = [c for c in wss.clients if c is not ws and c.ready_state == OPEN]
    wss.broadcast("%s: %s" % (ws.data["name"], data), clients=others)


@wss.on("close")  # Node: ws.on('close', (code, reason) => ...)
def close(ws, code, reason):
    logging.info("%s left (%d)", ws.data.get("name"), code)


wss.listen()  # bind now, to print the port
print("listening on ws://%s:%d/" % (args.host, wss.port), flush=True)
wss.run()  # until Ctrl-C or SIGTERM; clients then get 1001
