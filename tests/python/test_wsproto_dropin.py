"""wsfast.wsproto: wsproto's behaviour where users depend on it, the
places it is deliberately safer, and interoperation with real wsproto
(when installed) in both directions, deflate on and off."""

import os
import zlib

import pytest

pytest.importorskip("h11", reason="wsfast.wsproto's handshake needs h11 (the wsproto extra)")

from wsfast.wsproto import WSConnection, limits
from wsfast.wsproto.connection import CLIENT, SERVER, Connection, ConnectionState
from wsfast.wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsfast.wsproto.extensions import PerMessageDeflate
from wsfast.wsproto.frame_protocol import CloseReason
from wsfast.wsproto.utilities import LocalProtocolError


def _masked(opcode_byte, payload, key=b"\x01\x02\x03\x04"):
    """A client frame (masked) with a one-byte or 16-bit length."""
    n = len(payload)
    head = bytes([opcode_byte]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_no_automatic_pong_and_caller_replies():
    server = Connection(SERVER)
    server.receive_data(_masked(0x89, b"hi"))
    events = list(server.events())
    assert events == [Ping(b"hi")]
    assert server.send(events[0].response()) == b"\x8a\x02hi"


def test_close_states_remote_then_reply():
    server = Connection(SERVER)
    server.receive_data(_masked(0x88, (1001).to_bytes(2, "big") + b"bye"))
    (event,) = list(server.events())
    assert event.code is CloseReason.GOING_AWAY and event.reason == "bye"
    assert server.state is ConnectionState.REMOTE_CLOSING
    assert server.send(event.response()) == b"\x88\x05\x03\xe9bye"
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"x")


def test_local_close_then_peer_reply():
    client, server = Connection(CLIENT), Connection(SERVER)
    server.receive_data(client.send(CloseConnection(1000)))
    assert client.state is ConnectionState.LOCAL_CLOSING
    (event,) = list(server.events())
    client.receive_data(server.send(event.response()))
    assert list(client.events()) == [CloseConnection(CloseReason.NORMAL_CLOSURE, "")]
    assert client.state is ConnectionState.CLOSED


def test_eof_is_1006():
    server = Connection(SERVER)
    server.receive_data(None)
    assert list(server.events()) == [CloseConnection(CloseReason.ABNORMAL_CLOSURE)]
    assert server.state is ConnectionState.CLOSED


@pytest.mark.parametrize("frame, code", [
    (b"\x81\x02hi", CloseReason.PROTOCOL_ERROR),          # unmasked from a client
    (_masked(0x81, b"\xff\xfe"), CloseReason.INVALID_FRAME_PAYLOAD_DATA),
    (_masked(0x83, b""), CloseReason.PROTOCOL_ERROR),      # reserved opcode
    (_masked(0xc1, b"x"), CloseReason.PROTOCOL_ERROR),     # RSV1 without deflate
    (_masked(0x88, (1005).to_bytes(2, "big")), CloseReason.PROTOCOL_ERROR),
])
def test_protocol_errors_are_close_events(frame, code):
    server = Connection(SERVER)
    server.receive_data(_masked(0x82, b"ok") + frame + _masked(0x82, b"never"))
    events = list(server.events())
    assert events[0] == BytesMessage(b"ok")
    assert len(events) == 2 and isinstance(events[1], CloseConnection)
    assert events[1].code is code
    assert server.state is ConnectionState.OPEN  # the caller sends the close
    server.receive_data(_masked(0x82, b"after"))
    assert list(server.events()) == []


def test_invalid_utf8_split_across_fragments_fails_at_once():
    server = Connection(SERVER)
    # "é" is c3 a9: the fragment ends inside it, then continues with a bad byte.
    server.receive_data(_masked(0x01, b"ab\xc3"))
    assert list(server.events()) == [TextMessage("ab", True, False)]
    server.receive_data(_masked(0x80, b"\x28"))
    (event,) = list(server.events())
    assert event.code is CloseReason.INVALID_FRAME_PAYLOAD_DATA


def test_fragments_in_parts_and_text_split_mid_character():
    server = Connection(SERVER)
    server.receive_data(_masked(0x01, b"\xc3") + _masked(0x00, b"\xa9!") + _masked(0x80, b"z"))
    assert list(server.events()) == [
        TextMessage("", True, False), TextMessage("é!", True, False), TextMessage("z", True, True)]


def test_events_left_unread_stay_queued():
    server = Connection(SERVER)
    server.receive_data(_masked(0x82, b"1") + _masked(0x82, b"2"))
    assert next(server.events()) == BytesMessage(b"1")
    assert list(server.events()) == [BytesMessage(b"2")]


def _deflated_pair(**params):
    client_ext, server_ext = PerMessageDeflate(**params), PerMessageDeflate(**params)
    client, server = WSConnection(CLIENT), WSConnection(SERVER)
    server.receive_data(client.send(Request(host="h", target="/", extensions=[client_ext])))
    next(server.events())
    client.receive_data(server.send(AcceptConnection(extensions=[server_ext])))
    assert next(client.events()).extensions == [client_ext]
    return client, server


def test_inflate_is_bounded(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MESSAGE_SIZE", 1 << 20)
    client, server = _deflated_pair()
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\0" * (4 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(payload) < 8192
    frame = bytes([0xc2, 0x80 | 126]) + len(payload[:-4]).to_bytes(2, "big") + b"\0\0\0\0" + payload[:-4]
    server.receive_data(frame)
    (event,) = list(server.events())
    assert event.code is CloseReason.MESSAGE_TOO_BIG


def test_bad_deflate_data_is_1007():
    client, server = _deflated_pair()
    server.receive_data(_masked(0xc2, b"\xff\xff\xff\xff garbage"))
    (event,) = list(server.events())
    assert event.code is CloseReason.INVALID_FRAME_PAYLOAD_DATA


@pytest.mark.parametrize("fragmented", [False, True])
def test_uncompressed_message_limit_is_exact_with_deflate(monkeypatch, fragmented):
    monkeypatch.setattr(limits, "MAX_MESSAGE_SIZE", 1000)
    client, server = _deflated_pair()
    if fragmented:
        server.receive_data(_masked(0x02, b"x" * 600) + _masked(0x80, b"x" * 400))
        assert [e.data for e in server.events()] == [b"x" * 600, b"x" * 400]
        server.receive_data(_masked(0x02, b"x" * 600) + _masked(0x80, b"x" * 401))
    else:
        server.receive_data(_masked(0x82, b"x" * 1000))
        assert [e.data for e in server.events()] == [b"x" * 1000]
        server.receive_data(_masked(0x82, b"x" * 1001))
    events = list(server.events())
    assert events[-1].code is CloseReason.MESSAGE_TOO_BIG


def test_message_limit_applies_uncompressed():
    server = Connection(SERVER, max_message_size=1000)
    server.receive_data(_masked(0x82, b"x" * 1001))
    (event,) = list(server.events())
    assert event.code is CloseReason.MESSAGE_TOO_BIG


@pytest.mark.parametrize("idle", ["keep", "window"])
@pytest.mark.parametrize("nct", [False, True])
def test_deflate_round_trip_with_context(nct, idle, monkeypatch):
    monkeypatch.setattr(limits, "COMPRESSION_IDLE", idle)
    client, server = _deflated_pair(client_no_context_takeover=nct, server_no_context_takeover=nct)
    for i in range(5):
        text = "message %d " % i * 50
        wire = client.send(TextMessage(text))
        assert len(wire) < len(text)
        server.receive_data(wire)
        assert list(server.events()) == [TextMessage(text)]
        client.receive_data(server.send(BytesMessage(text.encode(), message_finished=False))
                            + server.send(BytesMessage(b"!")))
        assert b"".join(e.data for e in client.events()) == text.encode() + b"!"


def test_client_masks_with_fresh_keys():
    client = Connection(CLIENT)
    keys = {client.send(BytesMessage(b"same"))[2:6] for _ in range(64)}
    assert len(keys) > 60


def test_send_rules():
    conn = Connection(SERVER)
    with pytest.raises(ValueError):
        conn.send(Ping(b"x" * 126))
    conn.send(TextMessage("a", message_finished=False))
    with pytest.raises(TypeError):
        conn.send(BytesMessage(b"b"))
    with pytest.raises(LocalProtocolError):
        conn.send(CloseConnection(1004))
    assert conn.send(CloseConnection(1006)) == b"\x88\x02\x03\xe8"  # local-only -> 1000
    with pytest.raises(LocalProtocolError):
        conn.send(Pong())


def test_events_compare_like_dataclasses():
    assert TextMessage("a") == TextMessage(data="a", frame_finished=True, message_finished=True)
    assert TextMessage("a") != BytesMessage("a")
    assert hash(Ping(b"x")) == hash(Ping(b"x"))
    assert repr(CloseConnection(1000)) == "CloseConnection(code=1000, reason=None)"
    assert Request("h", "/").extensions == [] and Request("h", "/").extensions is not Request("h", "/").extensions


# -- against the real wsproto ------------------------------------------------

@pytest.fixture
def real():
    return pytest.importorskip("wsproto")


@pytest.mark.parametrize("deflate", [False, True])
@pytest.mark.parametrize("ours_is_server", [False, True])
def test_interop_with_wsproto(real, deflate, ours_is_server):
    from wsproto import WSConnection as RealWS
    from wsproto import events as rev
    from wsproto.connection import ConnectionType as RealType
    from wsproto.extensions import PerMessageDeflate as RealPMD

    if ours_is_server:
        client, server = RealWS(RealType.CLIENT), WSConnection(SERVER)
        cext, sext = RealPMD(), PerMessageDeflate()
        c_ev = rev
        import wsfast.wsproto.events as s_ev
    else:
        client, server = WSConnection(CLIENT), RealWS(RealType.SERVER)
        cext, sext = PerMessageDeflate(), RealPMD()
        import wsfast.wsproto.events as c_ev
        s_ev = rev
    server.receive_data(client.send(c_ev.Request(host="h", target="/", extensions=[cext] if deflate else [])))
    next(server.events())
    client.receive_data(server.send(s_ev.AcceptConnection(extensions=[sext] if deflate else [])))
    next(client.events())
    for size in (0, 10, 200, 70000):
        data = os.urandom(size // 2).hex()
        server.receive_data(client.send(c_ev.TextMessage(data)))
        got = "".join(e.data for e in server.events())
        assert got == data
        client.receive_data(server.send(s_ev.BytesMessage(data.encode())))
        assert b"".join(e.data for e in client.events()) == data.encode()
    server.receive_data(client.send(c_ev.CloseConnection(1000, "done")))
    (close,) = list(server.events())
    client.receive_data(server.send(close.response()))
    assert [e.code for e in client.events()] == [1000]
    assert server.state.name == client.state.name == "CLOSED"


def test_connection_module_reexports_opcode_and_parse_failed():
    import wsfast.wsproto.connection as conn_mod
    import wsfast.wsproto.frame_protocol as fp

    # wsproto's connection module imports them from frame_protocol: the same
    # objects, so `except connection.ParseFailed` catches frame_protocol's.
    assert conn_mod.Opcode is fp.Opcode and conn_mod.ParseFailed is fp.ParseFailed
    assert conn_mod.Opcode(0x9) is conn_mod.Opcode.PING and conn_mod.Opcode.PING.iscontrol()
    assert not conn_mod.Opcode.TEXT.iscontrol()
    with pytest.raises(fp.ParseFailed) as info:
        raise conn_mod.ParseFailed("bad frame", CloseReason.MESSAGE_TOO_BIG)
    assert info.value.code is CloseReason.MESSAGE_TOO_BIG and str(info.value) == "bad frame"
    assert conn_mod.ParseFailed("x").code is CloseReason.PROTOCOL_ERROR


def test_connection_module_has_wsproto_names(real):
    import inspect

    import wsfast.wsproto.connection as ours

    if real.__name__ != "wsproto":
        pytest.skip("wsproto resolves to the drop-in here")
    import wsproto.connection as theirs

    # Every class wsproto's connection module offers (its own and the ones it
    # imports), but its frame parser: the drop-in parses with wsfast's codec.
    names = {name for name, value in vars(theirs).items()
             if not name.startswith("_") and inspect.isclass(value)
             and value.__module__.startswith("wsproto")} - {"FrameProtocol"}
    assert {"Opcode", "ParseFailed", "Connection", "ConnectionState"} <= names
    assert sorted(n for n in names if not hasattr(ours, n)) == []
    assert [(m.name, m.value) for m in ours.Opcode] == [(m.name, m.value) for m in theirs.Opcode]
    assert issubclass(ours.ParseFailed, Exception)


# Autobahn's cases 3.2-3.4, 4.1.3-4.1.5, 4.2.3-4.2.5 and 5.15: valid
# data, then a protocol error, then more frames, in one read. Servers that
# handle each event as it is yielded (hypercorn) act on the message, then
# on the error, then stop: the order below is the one they rely on.
_ERROR_AFTER_DATA = {
    "3.2 RSV2": (_masked(0x81, b"Hello") + _masked(0xa1, b"Hello") + _masked(0x89, b""),
                 [TextMessage("Hello")]),
    "3.3 RSV3": (_masked(0x81, b"Hello") + _masked(0xb1, b"Hello") + _masked(0x89, b""),
                 [TextMessage("Hello")]),
    "3.4 RSV4": (_masked(0x81, b"Hello") + _masked(0xc1, b"Hello") + _masked(0x89, b""),
                 [TextMessage("Hello")]),
    "4.1.3 opcode 5": (_masked(0x81, b"Hello") + _masked(0x85, b"") + _masked(0x89, b""),
                       [TextMessage("Hello")]),
    "4.1.4 opcode 6": (_masked(0x81, b"Hello") + _masked(0x86, b"Hello") + _masked(0x89, b""),
                       [TextMessage("Hello")]),
    "4.1.5 opcode 7": (_masked(0x81, b"Hello") + _masked(0x87, b"Hello") + _masked(0x89, b""),
                       [TextMessage("Hello")]),
    "4.2.3 opcode 11": (_masked(0x81, b"Hello") + _masked(0x8b, b"") + _masked(0x89, b""),
                        [TextMessage("Hello")]),
    "4.2.4 opcode 12": (_masked(0x81, b"Hello") + _masked(0x8c, b"Hello") + _masked(0x89, b""),
                        [TextMessage("Hello")]),
    "4.2.5 opcode 15": (_masked(0x81, b"Hello") + _masked(0x8f, b"Hello") + _masked(0x89, b""),
                        [TextMessage("Hello")]),
    "5.15 continuation of nothing": (
        _masked(0x01, b"frag1") + _masked(0x80, b"frag2") + _masked(0x00, b"frag3")
        + _masked(0x81, b"frag4"),
        [TextMessage("frag1", True, False), TextMessage("frag2", True, True)]),
}


@pytest.mark.parametrize("case", sorted(_ERROR_AFTER_DATA))
def test_error_after_data_comes_after_the_data(case):
    wire, messages = _ERROR_AFTER_DATA[case]
    server = Connection(SERVER)
    server.receive_data(wire)
    events = server.events()
    # Each message is yielded before the error is: the caller can act on it
    # (hand it to the app) before it learns of the error.
    assert [next(events) for _ in messages] == messages
    (close,) = list(events)
    assert isinstance(close, CloseConnection) and close.code is CloseReason.PROTOCOL_ERROR
    # As in wsproto, the state stays OPEN: no close frame was received, and
    # whether to send one is the caller's choice. Nothing follows the error.
    assert server.state is ConnectionState.OPEN
    assert list(server.events()) == []


@pytest.mark.parametrize("case", sorted(_ERROR_AFTER_DATA))
def test_error_after_data_as_wsproto_orders_it(real, case):
    if real.__name__ != "wsproto":
        pytest.skip("wsproto resolves to the drop-in here")
    from wsproto.connection import Connection as RealConnection
    from wsproto.connection import ConnectionType as RealType

    wire, _ = _ERROR_AFTER_DATA[case]
    theirs, ours = RealConnection(RealType.SERVER), Connection(SERVER)
    theirs.receive_data(wire)
    ours.receive_data(wire)

    def shape(events):
        return [(e.__class__.__name__, getattr(e, "data", None), getattr(e, "message_finished", None),
                 getattr(e, "code", None)) for e in events]

    assert shape(ours.events()) == shape(theirs.events())
    assert ours.state.name == theirs.state.name == "OPEN"
