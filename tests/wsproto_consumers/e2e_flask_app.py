"""A Flask-Sock echo app for the end-to-end tests, on the drop-in:
``python e2e_flask_app.py PORT`` serves it with werkzeug's threaded
server. The text "close" makes the server close (1000, "bye")."""

import sys

import wsfast.wsproto

wsfast.wsproto.install()

from flask import Flask  # noqa: E402
from flask_sock import Sock  # noqa: E402
from simple_websocket import ConnectionClosed  # noqa: E402

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
    except ConnectionClosed:
        # simple-websocket wakes this handler when the client's close arrives
        # and only then has its reader thread write the close reply; werkzeug
        # closes the socket once the handler returns, which can lose the
        # reply. Waiting for the reader makes the reply (built by wsproto's
        # CloseConnection.response()) always reach the client.
        ws.thread.join(timeout=10)
        raise


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
