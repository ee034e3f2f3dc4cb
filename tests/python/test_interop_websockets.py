"""Interoperability with the ``websockets`` library's sans-I/O protocols,
in process: bytes are moved between the two objects by hand.

(a) websockets ClientProtocol <-> our ServerConnection
(b) our ClientConnection <-> websockets ServerProtocol
"""

import os

import pytest

websockets = pytest.importorskip("websockets")

from websockets.client import ClientProtocol  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Opcode  # noqa: E402
from websockets.http11 import Request as WsRequest  # noqa: E402
from websockets.http11 import Response as WsResponse  # noqa: E402
from websockets.protocol import State  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from connpair import feed, read_frames  # noqa: E402
from wsfast.client_protocol import ClientConnection  # noqa: E402
from wsfast.events import CLOSED, OPEN, Close, HandshakeFailed, Open, Ping, Pong  # noqa: E402
from wsfast.prepared import PreparedMessage  # noqa: E402
from wsfast.server_protocol import ServerConnection  # noqa: E402

MAX = 4 * 1024 * 1024  # above websockets' 1 MiB default, for the 1 MiB cases
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 300_000, 1 << 20]


def ws_output(proto):
    """(bytes, eof): what a websockets protocol wants written; an empty
    chunk is its request to close the TCP connection."""
    chunks = proto.data_to_send()
    return b"".join(chunks), b"" in chunks


def ws_messages(proto):
    """Complete data messages from websockets' frame events, as str/bytes,
    plus the control frames as (opcode, data)."""
    out = []
    parts, opcode = [], None
    for event in proto.events_received():
        if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if event.opcode != Opcode.CONT:
                opcode = event.opcode
            parts.append(event.data)
            if event.fin:
                data = b"".join(parts)
                out.append(data.decode() if opcode == Opcode.TEXT else data)
                parts = []
        else:
            out.append((event.opcode, event.data))
    return out


def text_of(size):
    """About ``size`` bytes of text mixing 1-, 2-, 3- and 4-byte characters."""
    unit = "ws-\u00e9\u20ac\U0001f600" + os.urandom(8).hex()
    text = (unit * (size // len(unit.encode()) + 1))
    while len(text.encode()) > size:
        text = text[: max(0, len(text) - max(1, (len(text.encode()) - size) // 4))]
    return text


def binary_of(size):
    # Half random, half repetitive: compressible but not trivially.
    return os.urandom(size // 2) + b"abcd" * ((size - size // 2) // 4) + b"x" * ((size - size // 2) % 4)


# -- (a) websockets client, our server ---------------------------------------------------


def ws_client(compression=True, **kw):
    extensions = [ClientPerMessageDeflateFactory(**kw)] if compression else None
    return ClientProtocol(parse_uri("ws://example.com/chat?room=1"), extensions=extensions, max_size=MAX)


def open_a(impl, compression=True, server=None, **client_kw):
    ws = ws_client(compression, **client_kw)
    ws.send_request(ws.connect())
    ours = ServerConnection(backend=impl, **{"max_message_size": MAX, **(server or {})})
    events = feed(ours, ws_output(ws)[0])
    assert len(events) == 1 and isinstance(events[0], Open), events
    assert ours.request.path == "/chat" and ours.request.query_string == b"room=1"
    ws.receive_data(ours.data_to_send())
    [response] = ws.events_received()
    assert isinstance(response, WsResponse) and response.status_code == 101
    assert ws.state is State.OPEN
    return ws, ours


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_a_handshake(impl, compression):
    ws, ours = open_a(impl, compression)
    if compression:
        assert ours.deflate is not None
        assert [e.name for e in ws.extensions] == ["permessage-deflate"]
    else:
        assert ours.deflate is None and ws.extensions == []


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_a_messages(impl, compression):
    ws, ours = open_a(impl, compression)
    for size in SIZES:
        text, data = text_of(size), binary_of(size)
        ws.send_text(text.encode())
        ws.send_binary(data)
        assert feed(ours, ws_output(ws)[0]) == [text, data], size
        ours.send(text)
        ours.send(data)
        ws.receive_data(ours.data_to_send())
        assert ws_messages(ws) == [text, data], size


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_a_fragmented_from_websockets(impl, compression):
    ws, ours = open_a(impl, compression)
    ws.send_text("d\u00e9but ".encode() * 30, fin=False)
    ws.send_ping(b"mid")
    ws.send_continuation(b" suite" * 30, fin=False)
    ws.send_continuation(b" fin", fin=True)
    events = feed(ours, ws_output(ws)[0])
    assert events == [Ping(b"mid"), "d\u00e9but " * 30 + " suite" * 30 + " fin"]
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == [(Opcode.PONG, b"mid")]


def test_a_fragments_from_us(impl):
    ws, ours = open_a(impl)
    ours.send_fragment("one ", fin=False, first=True, text=True)
    ours.send_fragment("two " * 100, fin=False)
    ours.send_fragment("three", fin=True)
    ours.send_fragment(b"\x00" * 500, fin=False, first=True, compress=False)
    ours.send_fragment(b"\x01" * 500, fin=True)
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == ["one " + "two " * 100 + "three", b"\x00" * 500 + b"\x01" * 500]


def test_a_ping_pong(impl):
    ws, ours = open_a(impl)
    ours.ping(b"are you there")
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == [(Opcode.PING, b"are you there")]
    assert feed(ours, ws_output(ws)[0]) == [Pong(b"are you there")]


@pytest.mark.parametrize(
    "client_kw",
    [
        {},
        {"client_max_window_bits": None},
        {"server_no_context_takeover": True},
        {"client_no_context_takeover": True},
        {"server_max_window_bits": 9, "client_max_window_bits": 9},
        {"server_max_window_bits": 15, "client_max_window_bits": 15},
    ],
)
def test_a_deflate_parameters(impl, client_kw):
    ws, ours = open_a(impl, **client_kw)
    assert ours.deflate is not None
    msgs = [("message %d " % i) * (20 + i * 13) for i in range(20)]
    for m in msgs:
        ws.send_text(m.encode())
        ours.send(m)
    assert feed(ours, ws_output(ws)[0]) == msgs
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == msgs


def test_a_client_initiated_close(impl):
    ws, ours = open_a(impl)
    ws.send_close(1000, "bye")
    assert ws.state is State.CLOSING
    events = feed(ours, ws_output(ws)[0])
    assert events == [Close(1000, "bye")]
    assert ours.ready_state == CLOSED and ours.should_close
    ws.receive_data(ours.data_to_send())
    ws_messages(ws)
    ws.receive_eof()  # our driver closes TCP
    assert ws.state is State.CLOSED
    assert ws.close_code == 1000


def test_a_server_initiated_close(impl):
    ws, ours = open_a(impl)
    ours.send("last words")
    ours.close(1001, "restarting")
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws)[0] == "last words"
    assert (ws.close_rcvd.code, ws.close_rcvd.reason) == (1001, "restarting")
    echo, eof = ws_output(ws)
    assert feed(ours, echo) == [Close(1001, "restarting")]
    assert ours.ready_state == CLOSED and ours.should_close
    ws.receive_eof()
    assert ws.state is State.CLOSED
    assert ws.close_code == 1001


def test_a_too_big_message(impl):
    ws, ours = open_a(impl, server={"max_message_size": 1000})
    ws.send_binary(b"\x00" * 5000)  # compressed: small on the wire
    events = feed(ours, ws_output(ws)[0])
    assert events[-1].code == 1006
    assert ours.should_close
    ws.receive_data(ours.data_to_send())
    ws_messages(ws)
    assert ws.close_rcvd.code == 1009


def test_a_handshake_rejected(impl):
    ws = ws_client()
    ws.send_request(ws.connect())
    ours = ServerConnection(backend=impl, origins=["https://app.example"])
    events = feed(ours, ws_output(ws)[0])
    assert events == [HandshakeFailed(403, events[0].reason)]
    ws.receive_data(ours.data_to_send())
    ws.receive_eof()
    [response] = ws.events_received()
    assert response.status_code == 403
    assert ws.handshake_exc is not None


def test_a_subprotocol(impl):
    ws = ClientProtocol(parse_uri("ws://example.com/"), subprotocols=["v1", "v2"])
    ws.send_request(ws.connect())
    ours = ServerConnection(backend=impl, subprotocols=["v2", "v1"])
    feed(ours, ws_output(ws)[0])
    ws.receive_data(ours.data_to_send())
    ws.events_received()
    assert ws.subprotocol == ours.subprotocol == "v2"


def test_a_prepared_broadcast(impl):
    configs = [
        {},
        {"server_no_context_takeover": True},
        {"server_max_window_bits": 10},
        {"compression": False},
    ]
    pairs = []
    for kw in configs:
        kw = dict(kw)
        pairs.append(open_a(impl, kw.pop("compression", True), **kw))
    prepared = PreparedMessage("news " * 500, backend=impl)
    for ws, ours in pairs:
        ours.send("news " * 300)  # context the prepared frame must not break
        ours.send_prepared(prepared)
        ours.send("news " * 400)
        ours.send_prepared(prepared)
        ours.send("news " * 200)
        ws.receive_data(ours.data_to_send())
        assert ws_messages(ws) == ["news " * n for n in (300, 500, 400, 500, 200)]


# -- (b) our client, websockets server ---------------------------------------------------------


def ws_server(compression=True, **kw):
    extensions = [ServerPerMessageDeflateFactory(**kw)] if compression else None
    return ServerProtocol(extensions=extensions, max_size=MAX)


def open_b(impl, compression=True, client=None, **server_kw):
    ws = ws_server(compression, **server_kw)
    options = {"max_message_size": MAX, **(client or {})}
    ours = ClientConnection("example.com", 8765, "/feed?x=y", backend=impl, **options)
    ours.connect()
    ws.receive_data(ours.data_to_send())
    [request] = ws.events_received()
    assert isinstance(request, WsRequest) and request.path == "/feed?x=y"
    ws.send_response(ws.accept(request))
    assert ws.state is State.OPEN
    events = feed(ours, ws_output(ws)[0])
    assert len(events) == 1 and isinstance(events[0], Open), events
    assert ours.ready_state == OPEN
    return ws, ours


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_b_handshake(impl, compression):
    ws, ours = open_b(impl, compression)
    if compression:
        assert ours.deflate is not None
        assert ours.extensions.startswith("permessage-deflate")
    else:
        assert ours.deflate is None and ours.extensions is None


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_b_messages(impl, compression):
    ws, ours = open_b(impl, compression)
    for size in SIZES:
        text, data = text_of(size), binary_of(size)
        ours.send(text)
        ours.send(data)
        ws.receive_data(ours.data_to_send())
        assert ws_messages(ws) == [text, data], size
        ws.send_text(text.encode())
        ws.send_binary(data)
        assert feed(ours, ws_output(ws)[0]) == [text, data], size


@pytest.mark.parametrize(
    "server_kw",
    [
        {"server_no_context_takeover": True},
        {"client_no_context_takeover": True},
        {"server_max_window_bits": 9},
        {"server_max_window_bits": 10, "client_max_window_bits": 10},
        {"client_max_window_bits": 9, "require_client_max_window_bits": True},
    ],
)
def test_b_deflate_parameters(impl, server_kw):
    ws, ours = open_b(impl, **server_kw)
    assert ours.deflate is not None
    msgs = [("payload %d " % i) * (20 + i * 17) for i in range(20)]
    for m in msgs:
        ws.send_text(m.encode())
        ours.send(m)
    assert feed(ours, ws_output(ws)[0]) == msgs
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == msgs


def test_b_small_messages_uncompressed(impl):
    ws, ours = open_b(impl)
    ours.send(b"tiny")
    ours.send(b"big" * 100)
    wire = ours.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [False, True]
    ws.receive_data(wire)
    assert ws_messages(ws) == [b"tiny", b"big" * 100]


def test_b_fragments_from_us(impl):
    ws, ours = open_b(impl)
    ours.send_fragment("a" * 300, fin=False, first=True, text=True)
    ours.ping(b"between")
    ours.send_fragment("b" * 300, fin=True)
    ws.receive_data(ours.data_to_send())
    assert ws_messages(ws) == [(Opcode.PING, b"between"), "a" * 300 + "b" * 300]
    assert feed(ours, ws_output(ws)[0]) == [Pong(b"between")]


def test_b_fragmented_from_websockets(impl):
    ws, ours = open_b(impl)
    ws.send_binary(b"\x10" * 1000, fin=False)
    ws.send_continuation(b"\x20" * 1000, fin=True)
    assert feed(ours, ws_output(ws)[0]) == [b"\x10" * 1000 + b"\x20" * 1000]


def test_b_server_initiated_close(impl):
    ws, ours = open_b(impl)
    ws.send_close(1000, "done")
    events = feed(ours, ws_output(ws)[0])
    assert events == [Close(1000, "done")]
    assert ours.ready_state == CLOSED and not ours.should_close
    ws.receive_data(ours.data_to_send())
    ws.events_received()
    out, eof = ws_output(ws)
    assert eof  # the server closes TCP
    assert ws.close_rcvd.code == 1000
    assert ours.receive_eof() == []
    assert ours.should_close and ours.close_code == 1000


def test_b_client_initiated_close(impl):
    ws, ours = open_b(impl)
    ours.close(4001, "client leaving")
    ws.receive_data(ours.data_to_send())
    ws.events_received()
    assert (ws.close_rcvd.code, ws.close_rcvd.reason) == (4001, "client leaving")
    out, eof = ws_output(ws)
    assert feed(ours, out) == [Close(4001, "client leaving")]
    assert ours.ready_state == CLOSED
    assert eof
    assert ours.receive_eof() == []
    assert ours.close_code == 4001


def test_b_close_without_status(impl):
    ws, ours = open_b(impl)
    ws.send_close()
    assert feed(ours, ws_output(ws)[0]) == [Close(1005, "")]
    ws.receive_data(ours.data_to_send())
    ws.events_received()
    assert ws.close_rcvd.code == 1005


def test_b_subprotocol(impl):
    ws = ServerProtocol(subprotocols=["graphql-ws", "json"])
    ours = ClientConnection("example.com", backend=impl, subprotocols=["json", "graphql-ws"])
    ours.connect()
    ws.receive_data(ours.data_to_send())
    [request] = ws.events_received()
    ws.send_response(ws.accept(request))
    feed(ours, ws_output(ws)[0])
    assert ours.subprotocol == ws.subprotocol == "graphql-ws"


def test_b_handshake_rejected(impl):
    ws = ServerProtocol()
    ours = ClientConnection("example.com", backend=impl)
    ours.connect()
    ws.receive_data(ours.data_to_send())
    [request] = ws.events_received()
    ws.send_response(ws.reject(401, "no entry\n"))
    events = feed(ours, ws_output(ws)[0])
    assert events == [HandshakeFailed(401, events[0].reason)]
    assert ours.should_close
    assert ours.handshake_error.body == b"no entry\n"


def test_b_protocol_error_from_us(impl):
    ws, ours = open_b(impl, client={"max_message_size": 100})
    ws.send_binary(b"y" * 1000)
    events = feed(ours, ws_output(ws)[0])
    assert events[-1].code == 1006 and ours.should_close
    ws.receive_data(ours.data_to_send())
    ws.events_received()
    assert ws.close_rcvd.code == 1009
