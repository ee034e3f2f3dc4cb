"""A Flask-Sock echo app for the end-to-end tests, on the drop-in:
``python e2e_flask_app.py PORT`` serves it with werkzeug's threaded
server. The text "close" makes the server close (1000, "bye")."""

import sys

import wsfast.wsproto

wsfast.wsproto.install()

from flask import Flask  # noqa: E402
from flask_sock import Sock  # noqa: E402

app = Flask(__name__)
app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": 2 * 1024 * 1024}
sock = Sock(app)


@sock.route("/echo")
def echo(ws):
    try:
        while True:
            message = ws.receive()
            if message == "close":
                ws.close(1000, "bye")
                return
            if message == "which wsproto":
                message = sys.modules["wsproto"].__name__
            ws.send(message)
    finally:
        # Return only once simple-websocket's reader thread is done with the
        # close handshake. It wakes this handler as soon as a close arrives
        # and writes its reply after; and werkzeug, once the handler
        # returns, drains the socket before closing it. Either can take the
        # close frames from simple-websocket: its reply is lost, or werkzeug
        # reads the client's reply and waits for more (upstream wsproto too).
        ws.thread.join(timeout=10)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
