"""A typed blocking client: send, receive, ping, close."""

from __future__ import annotations

import sys

from wsfast.client import ClientWebSocket, connect
from wsfast.closed import ConnectionClosed


def talk(ws: ClientWebSocket, text: str) -> str | bytes:
    ws.send(text)
    return ws.recv(timeout=5.0)


def main(url: str) -> int:
    try:
        with connect(url, open_timeout=5.0, subprotocols=["chat"]) as ws:
            print("subprotocol:", ws.subprotocol)
            print("reply:", talk(ws, "hello"))
            print("ping round trip: %.6f s" % ws.ping())
            ws.close(1000, "bye")
    except ConnectionClosed as exc:
        print("connection closed:", exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8765/"))
