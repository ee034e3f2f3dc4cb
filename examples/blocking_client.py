"""A blocking client script: no asyncio, no thread. Sends each argument
as a message and prints the replies.

    python examples/blocking_client.py ws://127.0.0.1:8765/ hello world
"""

import argparse
import sys

from wsfast.client import connect
from wsfast.closed import ConnectionClosed
from wsfast.errors import InvalidResponse

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("url")
parser.add_argument("messages", nargs="*", default=["hello"])
parser.add_argument("--timeout", type=float, default=5.0)
args = parser.parse_args()

try:
    with connect(args.url, open_timeout=args.timeout) as ws:
        for text in args.messages:
            ws.send(text)
            print("reply:", ws.recv(timeout=args.timeout), flush=True)
        print("ping: %.2f ms" % (ws.ping() * 1000))
except InvalidResponse as exc:  # e.g. "HTTP 401 Unauthorized: a valid token is required"
    sys.exit("refused: %s" % exc)
except (ConnectionClosed, OSError) as exc:
    sys.exit("failed: %s" % exc)
