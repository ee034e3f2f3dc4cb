"""A typed echo server on wsfast's own loop, with a plain-HTTP answer."""

from __future__ import annotations

import argparse

from wsfast.handshake import NOT_FOUND
from wsfast.http import Request
from wsfast.server import Server, WebSocket


def on_open(ws: WebSocket) -> None:
    ws.data["messages"] = 0


def on_message(ws: WebSocket, message: str | bytes) -> None:
    ws.data["messages"] += 1
    ws.send(message)


def on_close(ws: WebSocket, code: int, reason: str) -> None:
    print("closed", code, reason, "after", ws.data.get("messages", 0), "messages")


def http(request: Request) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    if request.path == "/health":
        return 200, (("Content-Type", "text/plain"),), b"ok\n"
    return NOT_FOUND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    port: int = parser.parse_args().port
    server = Server("127.0.0.1", port, on_open=on_open, on_message=on_message,
                    on_close=on_close, http_handler=http, ping_interval=20.0)

    @server.on("error")
    def on_error(ws: WebSocket, exc: BaseException) -> None:
        print("error on", ws, exc)

    server.listen()  # bind now, to print the port
    print("listening on port", server.port, flush=True)
    server.run()


if __name__ == "__main__":
    main()
