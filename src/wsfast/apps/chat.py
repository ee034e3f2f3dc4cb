"""``wsfast chat``: the classic browser chat.

``GET /`` serves a page whose script opens a WebSocket to ``/ws`` on the
same server. The room is a topic: every chat line is published to it, and
joins and leaves are announced, so with ``--workers N`` every user sees
every message whatever worker holds them, and with ``--redis URL`` whatever
server (see ``wsfast.bus``). The welcome lists the users of the same
process only. Messages on the wire are small JSON objects:
``{"type": "welcome"|"join"|"leave"|"message"|"error", ...}``; the
welcome gives the connection's ``id`` and the ``max_line`` limit, and each
message carries its sender's ``id`` and the server's ``time`` (ms since
the epoch), so that a page can mark its own lines and show when.
"""

import itertools
import json
import secrets
import time
from importlib import resources
from urllib.parse import urlsplit

from ..constants import CLOSE_UNSUPPORTED_DATA
from ..protocol import Reject
from ..server import Server, run_workers

#: Longest chat line accepted, in characters; longer ones get an error.
MAX_LINE = 2000
#: Longest nickname, in characters.
MAX_NAME = 32
#: The topic every user subscribes to.
ROOM = "room"
#: Largest WebSocket message the chat accepts at all (bytes).
MAX_MESSAGE_SIZE = 16 * 1024


def _now_ms():
    return int(time.time() * 1000)


def _page():
    return resources.files(__package__).joinpath("chat.html").read_bytes()


def same_origin(request, remote_address=None):
    """Refuse cross-site WebSockets (CSWSH): a browser's Origin must name
    the host the page came from. Non-browser clients send no Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if urlsplit(origin).netloc.lower() != (request.headers.get("Host") or "").lower():
        return Reject(403, (), b"cross-origin WebSocket refused\n")
    return None


class Chat:
    def __init__(self):
        self._ids = itertools.count(1)
        # Ids must differ across workers and servers (a page marks the lines
        # carrying its own id): a random prefix per process, then a count.
        self._id_prefix = secrets.token_hex(4)
        self._conn_ids = itertools.count(1)
        self._page = _page()

    def http(self, request):
        if request.method in ("GET", "HEAD") and request.path in ("/", "/index.html"):
            body = self._page if request.method == "GET" else b""
            return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body
        if request.path == "/health":
            return 200, [], b"ok\n"
        return None  # 404

    def _clean_name(self, request):
        query = request.query_string.decode("latin-1")
        from urllib.parse import parse_qs

        name = (parse_qs(query).get("name") or [""])[0].strip()
        name = "".join(ch for ch in name if ch.isprintable())[:MAX_NAME]
        return name or "guest-%d" % next(self._ids)

    def open(self, ws):
        name = ws.data["name"] = self._clean_name(ws.request)
        ws.data["id"] = "%s-%d" % (self._id_prefix, next(self._conn_ids))
        others = sorted(c.data.get("name", "?") for c in ws.server.clients if c is not ws)
        ws.send(json.dumps({"type": "welcome", "name": name, "id": ws.data["id"],
                            "users": others, "max_line": MAX_LINE, "time": _now_ms()}))
        ws.subscribe(ROOM)
        ws.publish(ROOM, json.dumps({"type": "join", "name": name, "time": _now_ms()}))  # to everyone else

    def message(self, ws, message):
        if not isinstance(message, str):
            ws.close(CLOSE_UNSUPPORTED_DATA, "text only")
            return
        try:
            text = json.loads(message).get("text")
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str) or not text.strip():
            ws.send(json.dumps({"type": "error", "error": 'send {"text": "..."}'}))
            return
        if len(text) > MAX_LINE:
            ws.send(json.dumps({"type": "error", "error": "line not sent: %d characters, the limit "
                                "is %d" % (len(text), MAX_LINE)}))
            return
        ws.server.publish(ROOM, json.dumps({"type": "message", "name": ws.data["name"], "id": ws.data["id"],
                                            "text": text, "time": _now_ms()}))

    def close(self, ws, code, reason):
        name = ws.data.get("name")
        if name is not None:
            ws.server.publish(ROOM, json.dumps({"type": "leave", "name": name, "time": _now_ms()}))


def make_chat_server(host="127.0.0.1", port=8080, **options):
    chat = Chat()
    options.setdefault("max_message_size", MAX_MESSAGE_SIZE)
    options.setdefault("max_frame_size", MAX_MESSAGE_SIZE)
    return Server(host, port, on_open=chat.open, on_message=chat.message, on_close=chat.close,
                  http_handler=chat.http, handshake_hook=same_origin, **options)


def serve_chat(host="127.0.0.1", port=8080, *, workers=1, redis=None, on_ready=None, **options):
    """Run the chat on ``workers`` processes, on a Redis bus if ``redis``
    (a redis:// URL) is given."""

    def make(port=port):
        bus = None
        if redis is not None:
            from ..bus import RedisBus

            bus = RedisBus(redis, prefix="wsfast-chat")
        return make_chat_server(host, port, reuse_port=workers != 1, bus=bus, **options)

    return run_workers(make, workers, on_ready=on_ready)
