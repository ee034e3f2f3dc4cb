"""A server that lets in only clients with a token, checked during the
handshake (before any WebSocket exists): an ``Authorization: Bearer``
header, or ``?token=`` in the URL for browsers, which cannot set headers.

    WSFAST_TOKEN=s3cret python examples/auth_server.py --port 8765
    # ws://127.0.0.1:8765/?token=s3cret is let in; anything else gets 401
"""

import argparse
import hmac
import os
from urllib.parse import parse_qs

from wsfast.handshake import Reject
from wsfast.server import Server

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8765)
args = parser.parse_args()
TOKEN = os.environ.get("WSFAST_TOKEN", "s3cret")


def token_of(request):
    header = request.headers.get("Authorization") or ""
    if header.startswith("Bearer "):
        return header[len("Bearer "):]
    query = parse_qs(request.query_string.decode("latin-1"))
    return (query.get("token") or [""])[0]


def check_token(request, remote_address):
    # compare_digest: the time taken does not tell how much of a guess was right
    if not hmac.compare_digest(token_of(request).encode(), TOKEN.encode()):
        return Reject(401, [("WWW-Authenticate", "Bearer")], b"a valid token is required\n")
    return None  # accept


server = Server(args.host, args.port, handshake_hook=check_token)


@server.on("message")
def echo(ws, message):
    ws.send(message)


server.listen()  # bind now, to print the port
print("listening on ws://%s:%d/" % (args.host, server.port), flush=True)
server.run()
