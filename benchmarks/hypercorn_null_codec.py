"""hypercorn on the wsproto drop-in with a codec that does nothing: the
floor of ``bench_wsproto_hypercorn.py --floor``.

    python benchmarks/hypercorn_null_codec.py hypercorn app:app [ARGS...]

One whole 64 B text message per read (ping-pong) is neither parsed nor
built: ``receive_data`` notes that a data frame came, ``events()`` yields
one prebuilt ``TextMessage``, and ``send`` returns one prebuilt frame.
The handshake and close frames go through the drop-in as usual. What the
server then spends per message is hypercorn's, h11's, asyncio's, the
app's and the kernel's: the least any codec could leave.
"""

import runpy
import sys

import wsfast.wsproto
from wsfast.wsproto import connection
from wsfast.wsproto.events import TextMessage

wsfast.wsproto.install()
_receive, _events, _send = (connection.Connection.receive_data, connection.Connection.events,
                            connection.Connection.send)
_MESSAGE = TextMessage("x" * 64)
_FRAME = b"\x81\x40" + b"x" * 64
_pending = set()


def receive_data(self, data):
    if data and data[0] & 0x8F == 0x81:  # a whole text frame, deflated or not
        _pending.add(id(self))
        return
    _receive(self, data)


def events(self):
    if id(self) in _pending:
        _pending.discard(id(self))
        return iter((_MESSAGE,))
    return _events(self)


def send(self, event):
    if event.__class__ is TextMessage:
        return _FRAME
    return _send(self, event)


connection.Connection.receive_data = receive_data
connection.Connection.events = events
connection.Connection.send = send

if __name__ == "__main__":
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=False)
