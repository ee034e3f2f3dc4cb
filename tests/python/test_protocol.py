"""Connection rules after the handshake: states, close, failing, ping and
keepalive, limits, compression and streaming (wsfast.protocol)."""

import os

import pytest

from connpair import close_of, feed, open_pair, pump, read_frames
from frames import close_payload, frame
from wsfast.client_protocol import ClientConnection
from wsfast.events import CLOSED, CLOSING, CONNECTING, OPEN, Close, Fragment, Ping, Pong
from wsfast.protocol import InvalidState
from wsfast.server_protocol import ServerConnection

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


# -- states and the close handshake ------------------------------------------


def test_ready_state_and_server_initiated_close(impl):
    s = ServerConnection(backend=impl)
    c = ClientConnection("example.com", backend=impl)
    assert s.ready_state == c.ready_state == CONNECTING
    c.connect()
    pump(c, s)
    assert s.ready_state == OPEN
    pump(s, c)
    assert c.ready_state == OPEN

    s.close(1001, "going away")
    assert s.ready_state == CLOSING
    assert s.close_sent == (1001, "going away")
    assert not s.should_close
    wire = s.data_to_send()
    assert close_of(wire) == (1001, "going away")

    assert c.receive_data(wire) == [Close(1001, "going away")]
    assert c.ready_state == CLOSED
    assert (c.close_code, c.close_reason) == (1001, "going away")
    assert not c.should_close  # a client waits for the server to close TCP
    echo = c.data_to_send()
    assert close_of(echo)[0] == 1001  # the code is echoed

    assert s.receive_data(echo) == [Close(1001, "")]
    assert s.ready_state == CLOSED
    assert s.close_code == 1001
    assert s.should_close  # the server closes TCP first
    assert s.data_to_send() == b""

    assert c.receive_eof() == []  # already reported
    assert c.should_close
    assert (c.close_code, c.close_reason) == (1001, "going away")


def test_client_initiated_close(impl):
    s, c = open_pair(impl)
    c.close(4000, "done")
    assert c.ready_state == CLOSING
    events = pump(c, s)
    assert events == [Close(4000, "done")]
    assert s.ready_state == CLOSED and s.should_close
    assert (s.close_code, s.close_reason) == (4000, "done")
    assert pump(s, c) == [Close(4000, "")]
    assert c.ready_state == CLOSED and not c.should_close
    assert c.close_code == 4000
    assert c.receive_eof() == []
    assert c.should_close


def test_close_default_code(impl):
    s, c = open_pair(impl)
    s.close()
    assert close_of(s.data_to_send()) == (1000, "")


def test_close_without_code_is_1005(impl):
    s, c = open_pair(impl)
    assert s.receive_data(frame(CLOSE)) == [Close(1005, "")]
    assert (s.close_code, s.close_reason) == (1005, "")
    # 1005 is never put on the wire: the echo is an empty close frame.
    assert s.data_to_send() == b"\x88\x00"
    assert s.should_close


def test_close_without_code_from_our_client(impl):
    s, c = open_pair(impl)
    # The raw client frame has no code; the server reports 1005.
    s.receive_data(frame(CLOSE))
    assert c.receive_data(s.data_to_send()) == [Close(1005, "")]
    assert c.close_code == 1005


def test_eof_without_close_is_1006(impl):
    s, c = open_pair(impl)
    assert s.receive_eof() == [Close(1006, "")]
    assert s.close_code == 1006
    assert s.ready_state == CLOSED and s.should_close
    assert s.receive_eof() == []
    assert c.receive_eof() == [Close(1006, "")]
    assert c.ready_state == CLOSED


def test_eof_during_closing_is_1006(impl):
    s, c = open_pair(impl)
    s.close()
    assert s.receive_eof() == [Close(1006, "")]
    assert s.close_code == 1006


def test_eof_before_handshake(impl):
    s = ServerConnection(backend=impl)
    assert s.receive_eof() == [Close(1006, "")]
    assert s.ready_state == CLOSED


def test_nothing_sendable_after_close(impl):
    s, c = open_pair(impl)
    s.close()
    for conn in (s, c):
        if conn is c:
            pump(s, c)  # c received the close frame
        for call in (
            lambda: conn.send("x"),
            lambda: conn.send(b"x"),
            lambda: conn.send_text("x"),
            lambda: conn.send_binary(b"x"),
            lambda: conn.send_fragment(b"x", fin=True, first=True),
            lambda: conn.ping(),
            lambda: conn.pong(),
        ):
            with pytest.raises(InvalidState):
                call()
    # Closing again is a no-op.
    s.close()
    c.close()
    assert s.data_to_send() == b""
    assert len(read_frames(c.data_to_send())) == 1  # just the echo


def test_nothing_sendable_before_handshake(impl):
    s = ServerConnection(backend=impl)
    c = ClientConnection("example.com", backend=impl)
    for conn in (s, c):
        with pytest.raises(InvalidState):
            conn.send("x")
        with pytest.raises(InvalidState):
            conn.ping()
        with pytest.raises(InvalidState):
            conn.close()


def test_nothing_sendable_after_eof(impl):
    s, c = open_pair(impl)
    s.receive_eof()
    with pytest.raises(InvalidState):
        s.send("x")
    s.close()  # no-op
    assert s.data_to_send() == b""


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_invalid_user_close_codes(impl, code):
    s, c = open_pair(impl)
    with pytest.raises(ValueError):
        s.close(code)
    assert s.ready_state == OPEN
    assert s.data_to_send() == b""


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999])
def test_valid_user_close_codes(impl, code):
    s, c = open_pair(impl)
    c.close(code, "r")
    assert pump(c, s) == [Close(code, "r")]


def test_close_reason_length(impl):
    s, c = open_pair(impl)
    with pytest.raises(ValueError):
        s.close(1000, "x" * 124)
    with pytest.raises(ValueError):
        s.close(1000, "\u00e9" * 62)  # 124 bytes in UTF-8
    assert s.ready_state == OPEN
    s.close(1000, "\u00e9" * 61 + "x")  # 123 bytes
    assert pump(s, c) == [Close(1000, "\u00e9" * 61 + "x")]


def test_data_still_received_while_closing(impl):
    s, c = open_pair(impl)
    s.close()
    assert close_of(s.data_to_send()) == (1000, "")
    c.send("late")
    c.ping(b"p")
    assert pump(c, s) == ["late", Ping(b"p")]
    assert s.data_to_send() == b""  # no pong once closing
    assert s.ready_state == CLOSING


def test_nothing_after_peer_close_counts(impl):
    s, c = open_pair(impl)
    data = frame(TEXT, b"before") + frame(CLOSE, close_payload(1000)) + frame(TEXT, b"after")
    # The close frame starts a step of its own (see the next test).
    assert s.receive_data(data) == ["before"]
    assert s.events_pending()
    assert s.next_events() == [Close(1000, "")]
    assert not s.events_pending()
    assert s.receive_data(frame(TEXT, b"later")) == []
    # Even garbage after the close frame is ignored.
    assert s.receive_data(b"\xff\xff\xff") == []
    assert close_of(s.data_to_send()) == (1000, "")


def test_messages_before_a_close_frame_are_handled_while_open(impl):
    # "last words" then a close frame, in one read: the message is reported
    # while the connection is still open, so the reply to it goes out
    # before the close echo; the close comes as the next step.
    s, c = open_pair(impl)
    c.send("last words")
    c.close(1000, "bye")
    assert s.receive_data(c.data_to_send()) == ["last words"]
    assert s.ready_state == OPEN and s.events_pending()
    s.send("echo: last words")
    assert s.next_events() == [Close(1000, "bye")]
    assert s.ready_state == CLOSED and not s.events_pending()
    assert feed(c, s.data_to_send()) == ["echo: last words", Close(1000, "")]  # code echoed


def test_messages_before_a_close_survive_every_split(impl):
    s0, c = open_pair(impl)
    c.send("one")
    c.send(b"two")
    c.close(1001, "going")
    wire = c.data_to_send()
    for cut in range(len(wire) + 1):
        s, _ = open_pair(impl)
        events = feed(s, wire[:cut]) + feed(s, wire[cut:])
        assert events == ["one", b"two", Close(1001, "going")], cut


def test_steps_bound_the_bytes_one_call_inflates(impl):
    # One read holding many compressed messages that each inflate to
    # 64 KiB: each step inflates at most max_step_bytes (or one message).
    s, c = open_pair(impl, server={"max_step_bytes": 100_000, "max_message_size": 1 << 20})
    assert s.deflate is not None
    for i in range(20):
        c.send(bytes([i]) * 65536)
    wire = c.data_to_send()
    assert len(wire) < 20 * 1024
    steps = [s.receive_data(wire)]
    while s.events_pending():
        steps.append(s.next_events())
    assert [len(step) for step in steps] == [2] * 10
    assert [m for step in steps for m in step] == [bytes([i]) * 65536 for i in range(20)]


def test_steps_bound_the_frames_one_call_handles(impl):
    s, c = open_pair(impl, server={"max_step_frames": 100})
    for i in range(250):
        c.ping(b"%d" % i)
    steps = [s.receive_data(c.data_to_send())]
    while s.events_pending():
        steps.append(s.next_events())
    assert [len(step) for step in steps] == [100, 100, 50]
    assert [e.data for step in steps for e in step] == [b"%d" % i for i in range(250)]
    assert len(read_frames(s.data_to_send())) == 250  # every pong, in order


def test_eof_reports_the_messages_received_before_it(impl):
    s, c = open_pair(impl, server={"max_step_frames": 1})
    c.send("a")
    c.send("b")
    c.send("c")
    assert s.receive_data(c.data_to_send()) == ["a"]
    assert s.receive_eof() == ["b"]
    assert s.events_pending() and s.ready_state == OPEN
    assert s.next_events() == ["c", Close(1006, "")]
    assert s.ready_state == CLOSED and s.should_close and not s.events_pending()


def test_eof_discarding_drops_pending_frames(impl):
    s, c = open_pair(impl, server={"max_step_frames": 1})
    c.send("a")
    c.send("b")
    assert s.receive_data(c.data_to_send()) == ["a"]
    assert s.receive_eof(discard=True) == [Close(1006, "")]
    assert not s.events_pending()


def test_a_parser_error_comes_after_every_step_before_it(impl):
    s, c = open_pair(impl, server={"max_step_frames": 1})
    c.send("a")
    c.send("b")
    data = c.data_to_send() + b"\x83\x80" + b"\0" * 4  # reserved opcode 3
    assert s.receive_data(data) == ["a"]
    assert s.ready_state == OPEN
    assert s.next_events() == ["b"]
    assert s.ready_state == OPEN and s.events_pending()
    events = s.next_events()
    assert len(events) == 1 and isinstance(events[0], Close) and events[0].code == 1006
    assert close_of(s.data_to_send()) == (1002, events[0].reason)
    assert not s.events_pending()


def test_what_waits_between_steps_costs_about_the_bytes_received(impl):
    # A read of 2,000 pings handled 100 frames a step: the frames after
    # the step stay unparsed bytes, not 2,000 parsed objects.
    import tracemalloc

    s, c = open_pair(impl, server={"max_step_frames": 100})
    for i in range(2000):
        c.ping(b"x" * 125)
    wire = c.data_to_send()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        events = s.receive_data(wire)
        s.data_to_send()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del events
    assert held < 1.5 * len(wire), (held, len(wire))
    count = 100
    while s.events_pending():
        count += len(s.next_events())
    assert count == 2000


def test_close_reason_utf8(impl):
    s, c = open_pair(impl)
    c.close(1000, "\u00e7a va \U0001f600")
    assert pump(c, s) == [Close(1000, "\u00e7a va \U0001f600")]


# -- failing the connection -------------------------------------------------------


def _fail_case(impl, data, code, **server):
    s, c = open_pair(impl, server=server)
    events = s.receive_data(data)
    assert isinstance(events[-1], Close) and events[-1].code == 1006, events
    assert s.should_close
    assert s.close_code == 1006
    assert s.failure[0] == code
    last = read_frames(s.data_to_send())[-1]
    assert s.ready_state == CLOSED
    assert last[2] == CLOSE and int.from_bytes(last[3][:2], "big") == code
    # Nothing more is processed or sent.
    assert s.receive_data(frame(TEXT, b"x")) == []
    assert s.data_to_send() == b""
    return events[:-1]


def test_reply_to_messages_before_a_bad_frame_precedes_the_close(impl):
    # Autobahn 3.2 (strict): echo what came before the violation, then close.
    s, c = open_pair(impl)
    events = s.receive_data(frame(TEXT, b"first") + frame(TEXT, b"bad", rsv=2))
    assert events[0] == "first" and isinstance(events[1], Close)
    s.send(events[0])  # the application answers while the close is pending
    frames = read_frames(s.data_to_send())
    assert [f[2] for f in frames] == [TEXT, CLOSE]
    assert frames[0][3] == b"first" and int.from_bytes(frames[1][3][:2], "big") == 1002
    assert s.ready_state == CLOSED and s.should_close
    with pytest.raises(InvalidState):
        s.send("late")


def test_unmasked_client_frame_fails_1002(impl):
    assert _fail_case(impl, frame(TEXT, b"hi", mask=None), 1002) == []


def test_bad_utf8_fails_1007(impl):
    assert _fail_case(impl, frame(TEXT, b"ok\xff"), 1007) == []


def test_bad_utf8_across_fragments_fails_1007(impl):
    data = frame(TEXT, b"\xe2\x82", fin=False) + frame(0, b"x")
    assert _fail_case(impl, data, 1007) == []


@pytest.mark.parametrize("compression", [True, False])
def test_too_big_message_fails_1009(impl, compression):
    # With deflate negotiated, plain messages are held to the same limit.
    data = frame(BINARY, b"x" * 101)
    assert _fail_case(impl, data, 1009, max_message_size=100, compression=compression) == []


@pytest.mark.parametrize("compression", [True, False])
def test_too_big_fragmented_message_fails_1009(impl, compression):
    data = frame(BINARY, b"x" * 60, fin=False) + frame(0, b"x" * 60)
    assert _fail_case(impl, data, 1009, max_message_size=100, compression=compression) == []


@pytest.mark.parametrize("compression", [True, False])
def test_too_big_plain_message_streaming_fails_1009(impl, compression):
    data = frame(BINARY, b"x" * 60, fin=False) + frame(0, b"x" * 60)
    before = _fail_case(
        impl, data, 1009, max_message_size=100, compression=compression, streaming=True
    )
    assert before in ([], [Fragment(BINARY, b"x" * 60, False)])
    # A new message starts counting again.
    s, c = open_pair(impl, server={"max_message_size": 100, "streaming": True})
    for _ in range(3):
        c.send_fragment(b"y" * 60, fin=False, first=True, compress=False)
        c.send_fragment(b"y" * 40, fin=True)
        assert [e.data for e in pump(c, s)] == [b"y" * 60, b"y" * 40]


def test_too_big_frame_fails_1009(impl):
    assert _fail_case(impl, frame(BINARY, b"x" * 101), 1009, max_frame_size=100) == []


@pytest.mark.parametrize(
    "bad",
    [
        frame(0x3, b""),  # reserved opcode
        frame(TEXT, b"x", rsv=2),  # RSV2
        frame(TEXT, b"x", rsv=1),  # RSV3
        frame(PING, b"x", fin=False),
        frame(PING, b"x" * 126),
        frame(0, b"x"),  # continuation without a message
        frame(CLOSE, b"\x03"),  # one-byte close payload
        frame(CLOSE, close_payload(1005)),  # never on the wire
        frame(CLOSE, close_payload(999)),
    ],
)
def test_protocol_violations_fail_1002(impl, bad):
    assert _fail_case(impl, bad, 1002) == []


def test_rsv1_without_deflate_fails_1002(impl):
    s, c = open_pair(impl, server={"compression": False})
    events = s.receive_data(frame(TEXT, b"x", rsv=4))
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1002


def test_bad_close_reason_fails_1007(impl):
    assert _fail_case(impl, frame(CLOSE, close_payload(1000, b"\xff")), 1007) == []


def test_frames_before_error_are_delivered(impl):
    data = frame(TEXT, b"one") + frame(PING, b"p") + frame(BINARY, b"two") + frame(TEXT, b"\xff")
    before = _fail_case(impl, data, 1007)
    assert before == ["one", Ping(b"p"), b"two"]


def test_frames_before_error_delivered_and_ponged(impl):
    s, c = open_pair(impl)
    events = s.receive_data(frame(PING, b"p") + frame(TEXT, b"x", mask=None))
    assert events[:-1] == [Ping(b"p")]
    frames = read_frames(s.data_to_send())
    assert [f[2] for f in frames] == [PONG, CLOSE]


def test_frames_before_error_split_reads(impl):
    s, c = open_pair(impl)
    good = frame(TEXT, b"hello")
    bad = frame(TEXT, b"\xc3\x28")
    data = good + bad
    events = []
    for i in range(len(data)):
        events += s.receive_data(data[i : i + 1])
    assert events[0] == "hello"
    assert isinstance(events[1], Close) and len(events) == 2
    assert close_of(s.data_to_send())[0] == 1007


def test_masked_server_frame_fails_client_1002(impl):
    s, c = open_pair(impl)
    events = c.receive_data(frame(TEXT, b"hi"))  # masked: not allowed
    assert events == [Close(1006, events[0].reason)]
    assert c.should_close and c.ready_state == CLOSED
    frames = read_frames(c.data_to_send())
    assert frames[0][2] == CLOSE and frames[0][3][:2] == (1002).to_bytes(2, "big")


def test_failure_while_closing_sends_no_second_close(impl):
    s, c = open_pair(impl)
    s.close()
    s.data_to_send()
    events = s.receive_data(frame(TEXT, b"\xff"))
    assert events[-1].code == 1006
    assert s.should_close and s.ready_state == CLOSED
    assert s.data_to_send() == b""


def test_fail_method(impl):
    s, c = open_pair(impl)
    s.fail(1011, "boom")
    assert s.should_close and s.ready_state == CLOSED
    assert close_of(s.data_to_send()) == (1011, "boom")
    assert s.close_code == 1006


def test_fail_with_long_reason_still_sends_valid_close(impl):
    s, c = open_pair(impl)
    s.fail(1011, "\u00e9" * 100)
    wire = s.data_to_send()
    # The close frame must be a valid control frame that the peer accepts.
    events = c.receive_data(wire)
    assert len(events) == 1 and events[0].code == 1011
    assert len(wire) <= 2 + 125


def test_parser_error_reason_reported(impl):
    s, c = open_pair(impl)
    events = s.receive_data(frame(TEXT, b"\xff"))
    assert events[-1].reason  # says why
    assert close_of(s.data_to_send())[1] == events[-1].reason


# -- ping and pong ---------------------------------------------------------------------


def test_auto_pong(impl):
    s, c = open_pair(impl)
    c.ping(b"hello")
    assert pump(c, s) == [Ping(b"hello")]
    assert read_frames(s.data_to_send()) == [(True, False, PONG, b"hello")]
    s.ping(b"back")
    assert pump(s, c) == [Ping(b"back")]
    assert pump(c, s) == [Pong(b"back")]


def test_auto_pong_off(impl):
    s, c = open_pair(impl, server={"auto_pong": False})
    c.ping(b"x")
    assert pump(c, s) == [Ping(b"x")]
    assert s.data_to_send() == b""
    s.pong(b"x")
    assert pump(s, c) == [Pong(b"x")]


def test_unsolicited_pong(impl):
    s, c = open_pair(impl)
    c.pong(b"u")
    assert pump(c, s) == [Pong(b"u")]
    assert s.data_to_send() == b""


def test_ping_max_payload(impl):
    s, c = open_pair(impl)
    c.ping(b"x" * 125)
    assert pump(c, s) == [Ping(b"x" * 125)]


def test_ping_interleaved_in_fragmented_message(impl):
    s, c = open_pair(impl)
    data = frame(TEXT, b"he", fin=False) + frame(PING, b"p") + frame(0, b"llo")
    assert s.receive_data(data) == [Ping(b"p"), "hello"]


# -- keepalive ---------------------------------------------------------------------------


def test_keepalive_ping_and_timeout(impl):
    s, c = open_pair(impl)
    assert s.keepalive(100.0, 10, 5) is False  # starts the clock
    assert s.keepalive(109.9, 10, 5) is False
    assert s.data_to_send() == b""
    assert s.keepalive(110.0, 10, 5) is True
    frames = read_frames(s.data_to_send())
    assert len(frames) == 1 and frames[0][2] == PING and frames[0][3]
    assert s.keepalive(114.9, 10, 5) is False
    assert s.ready_state == OPEN
    assert s.keepalive(115.0, 10, 5) is True
    assert s.should_close and s.ready_state == CLOSED
    assert close_of(s.data_to_send())[0] == 1011
    assert s.keepalive(200.0, 10, 5) is False


def test_keepalive_pong_clears_timeout(impl):
    s, c = open_pair(impl)
    s.keepalive(0.0, 10, 5)
    assert s.keepalive(10.0, 10, 5)
    assert pump(s, c)[0].__class__ is Ping
    events = pump(c, s)  # the client's automatic pong
    assert len(events) == 1 and isinstance(events[0], Pong)
    assert s.keepalive(14.0, 10, 5) is False
    assert s.keepalive(16.0, 10, 5) is False  # past the old deadline
    assert s.ready_state == OPEN
    assert s.keepalive(23.9, 10, 5) is False
    assert s.keepalive(24.0, 10, 5) is True  # idle again since 14
    assert read_frames(s.data_to_send())[0][2] == PING


def test_keepalive_wrong_pong_does_not_clear(impl):
    s, c = open_pair(impl, client={"auto_pong": False})
    s.keepalive(0.0, 10, 5)
    s.keepalive(10.0, 10, 5)
    s.data_to_send()
    c.pong(b"other")
    assert pump(c, s) == [Pong(b"other")]
    assert s.keepalive(15.0, 10, 5) is True
    assert s.should_close


def test_keepalive_incoming_data_defers_ping(impl):
    s, c = open_pair(impl)
    s.keepalive(0.0, 10, 5)
    c.send("busy")
    pump(c, s)
    assert s.keepalive(8.0, 10, 5) is False  # data arrived: idle from 8
    assert s.keepalive(17.0, 10, 5) is False
    assert s.keepalive(18.0, 10, 5) is True


def test_keepalive_disabled(impl):
    s, c = open_pair(impl)
    for now in (0.0, 100.0, 1000.0):
        assert s.keepalive(now, None, 5) is False
        assert s.keepalive(now, 0, 5) is False
    assert s.data_to_send() == b""


def test_keepalive_no_timeout(impl):
    s, c = open_pair(impl)
    s.keepalive(0.0, 10, None)
    assert s.keepalive(10.0, 10, None) is True
    assert s.keepalive(1000.0, 10, None) is False
    assert s.ready_state == OPEN


def test_keepalive_client_side(impl):
    s, c = open_pair(impl)
    c.keepalive(0.0, 1, 1)
    assert c.keepalive(1.0, 1, 1) is True
    events = pump(c, s)
    assert isinstance(events[0], Ping)
    pump(s, c)
    assert c.keepalive(2.0, 1, 1) is False
    assert c.ready_state == OPEN


def test_keepalive_not_before_open_or_after_close(impl):
    s = ServerConnection(backend=impl)
    assert s.keepalive(0.0, 1, 1) is False
    assert s.keepalive(10.0, 1, 1) is False
    s, c = open_pair(impl)
    s.close()
    s.data_to_send()
    assert s.keepalive(0.0, 1, 1) is False
    assert s.keepalive(10.0, 1, 1) is False
    assert s.data_to_send() == b""


# -- limits ----------------------------------------------------------------------------------


def test_max_message_size_exact(impl):
    s, c = open_pair(impl, server={"max_message_size": 100})
    c.send(b"x" * 100)
    assert pump(c, s) == [b"x" * 100]


def test_max_message_size_after_decompression(impl):
    s, c = open_pair(impl, server={"max_message_size": 1000})
    assert s.deflate is not None
    c.send(b"\0" * 1000)
    wire = c.data_to_send()
    assert read_frames(wire)[0][1]  # compressed
    assert len(wire) < 100
    assert s.receive_data(wire) == [b"\0" * 1000]
    c.send(b"\0" * 1001)  # still tiny on the wire
    wire = c.data_to_send()
    assert len(wire) < 100
    events = s.receive_data(wire)
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1009


def test_max_message_size_after_decompression_text(impl):
    s, c = open_pair(impl, server={"max_message_size": 10_000})
    c.send("a" * 50_000)
    pump(c, s)
    assert close_of(s.data_to_send())[0] == 1009


def test_incompressible_message_at_limit_accepted(impl):
    # Deflate makes random data slightly larger on the wire.
    data = os.urandom(5000)
    s, c = open_pair(impl, server={"max_message_size": 5000})
    c.send(data, compress=True)
    wire = c.data_to_send()
    assert len(wire) > 5000
    assert s.receive_data(wire) == [data]


def test_max_message_size_client_side(impl):
    s, c = open_pair(impl, client={"max_message_size": 500})
    s.send("y" * 2000)
    events = pump(s, c)
    assert events[-1].code == 1006
    assert read_frames(c.data_to_send())[0][3][:2] == (1009).to_bytes(2, "big")


def test_max_message_size_streaming_compressed(impl):
    s, c = open_pair(impl, server={"max_message_size": 1000, "streaming": True})
    c.send_fragment(b"\0" * 600, fin=False, first=True)
    events = pump(c, s)
    assert events == [Fragment(BINARY, b"\0" * 600, False)]
    c.send_fragment(b"\0" * 600, fin=True)
    events = pump(c, s)
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1009


def test_max_frame_size(impl):
    s, c = open_pair(impl, server={"max_frame_size": 100, "compression": False})
    c.send(b"x" * 100)
    assert pump(c, s) == [b"x" * 100]
    # Fragments may add up to more than one frame's limit.
    c.send_fragment(b"a" * 100, fin=False, first=True)
    c.send_fragment(b"b" * 100, fin=False)
    c.send_fragment(b"c" * 100, fin=True)
    assert pump(c, s) == [b"a" * 100 + b"b" * 100 + b"c" * 100]
    c.send(b"x" * 101)
    events = pump(c, s)
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1009


def test_no_limits(impl):
    s, c = open_pair(impl, server={"max_message_size": None, "max_frame_size": None})
    c.send(b"z" * 100_000)
    assert pump(c, s) == [b"z" * 100_000]


# -- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [True, False])
@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_round_trip_sizes(impl, compression, size):
    s, c = open_pair(impl, server={"compression": compression})
    text = ("\u00e9a" * size)[:size]
    data = os.urandom(size)
    c.send(text)
    c.send(data)
    assert pump(c, s) == [text, data]
    s.send(text)
    s.send(data)
    assert pump(s, c) == [text, data]


def test_send_text_bytes_and_bytearray(impl):
    s, c = open_pair(impl)
    c.send_text(b"utf8 bytes")
    c.send(bytearray(b"ba"))
    c.send(memoryview(b"mv"))
    c.send_binary(b"bin")
    assert pump(c, s) == ["utf8 bytes", b"ba", b"mv", b"bin"]


def test_bytes_pending(impl):
    s, c = open_pair(impl, server={"compression": False})
    s.send(b"12345")
    s.send(b"678")
    assert s.bytes_pending == 7 + 5
    assert len(s.data_to_send()) == 12
    assert s.bytes_pending == 0


def test_many_messages_in_one_read(impl):
    s, c = open_pair(impl)
    for i in range(50):
        c.send("m%d" % i * (i + 1))
    assert pump(c, s) == ["m%d" % i * (i + 1) for i in range(50)]


def test_byte_by_byte(impl):
    s, c = open_pair(impl)
    c.send("hello " * 50)
    c.send(b"\x01\x02")
    c.ping(b"p")
    wire = c.data_to_send()
    events = []
    for i in range(len(wire)):
        events += s.receive_data(wire[i : i + 1])
    assert events == ["hello " * 50, b"\x01\x02", Ping(b"p")]


# -- compression ------------------------------------------------------------------------------


def test_compression_negotiated_by_default(impl):
    s, c = open_pair(impl)
    assert s.deflate is not None and c.deflate is not None
    assert s.extensions.startswith("permessage-deflate")
    assert s.extensions == c.extensions


@pytest.mark.parametrize("value", [False, None])
@pytest.mark.parametrize("side", ["server", "client"])
def test_compression_off(impl, side, value):
    s, c = open_pair(impl, **{side: {"compression": value}})
    assert s.deflate is None and c.deflate is None
    assert s.extensions is None and c.extensions is None
    s.send(b"\0" * 1000)
    wire = s.data_to_send()
    assert not read_frames(wire)[0][1]
    assert c.receive_data(wire) == [b"\0" * 1000]


@pytest.mark.parametrize("side", ["server", "client"])
def test_compress_min_size(impl, side):
    s, c = open_pair(impl)
    sender, receiver = (s, c) if side == "server" else (c, s)
    sender.send(b"a" * 127)
    sender.send(b"a" * 128)
    sender.send("t" * 127)
    sender.send("t" * 128)
    wire = sender.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [False, True, False, True]
    assert receiver.receive_data(wire) == [b"a" * 127, b"a" * 128, "t" * 127, "t" * 128]


def test_compress_min_size_option(impl):
    s, c = open_pair(impl, server={"compress_min_size": 0}, client={"compress_min_size": 10_000})
    s.send(b"")
    s.send(b"x")
    wire = s.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [True, True]
    assert c.receive_data(wire) == [b"", b"x"]
    c.send(b"y" * 9999)
    c.send(b"y" * 10_000)
    wire = c.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [False, True]
    assert s.receive_data(wire) == [b"y" * 9999, b"y" * 10_000]


def test_per_send_compression_choice(impl):
    s, c = open_pair(impl)
    s.send(b"z" * 1000, compress=False)
    s.send("z" * 1000, compress=False)
    s.send(b"z", compress=True)
    s.send_text("z" * 1000)
    s.send_binary(b"z" * 1000, compress=False)
    wire = s.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [False, False, True, True, False]
    assert c.receive_data(wire) == [b"z" * 1000, "z" * 1000, b"z", "z" * 1000, b"z" * 1000]


def test_compress_true_without_deflate_is_plain(impl):
    s, c = open_pair(impl, server={"compression": False})
    s.send(b"q" * 500, compress=True)
    wire = s.data_to_send()
    assert not read_frames(wire)[0][1]
    assert c.receive_data(wire) == [b"q" * 500]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"server_no_context_takeover": True},
        {"client_no_context_takeover": True},
        {"server_max_window_bits": 9, "client_max_window_bits": 9},
        {"server_max_window_bits": 8, "client_max_window_bits": 8},
        {"server_max_window_bits": 15, "client_max_window_bits": 15},
        {"server_max_window_bits": None, "client_max_window_bits": None},
    ],
)
def test_compression_settings_many_messages(impl, options):
    s, c = open_pair(impl, server={"compression": options})
    rnd = os.urandom(3000).hex()
    msgs = [rnd[: 100 + i * 37] * (1 + i % 3) for i in range(30)]
    for m in msgs:
        c.send(m)
        s.send(m)
        s.send(m.encode(), compress=False)  # interleaved plain messages
    assert pump(c, s) == msgs
    assert pump(s, c) == [x for m in msgs for x in (m, m.encode())]


def test_compressed_bad_data_fails_1007(impl):
    s, c = open_pair(impl)
    events = s.receive_data(frame(BINARY, b"\xff\xff\xff\xff", rsv=4))
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1007


def test_compressed_bad_utf8_fails_1007(impl):
    s, c = open_pair(impl)
    c.send_binary(b"ok \xff not utf-8" * 20, compress=True)
    wire = bytearray(c.data_to_send())
    wire[0] = (wire[0] & 0xF0) | TEXT  # now a text message
    events = s.receive_data(bytes(wire))
    assert events[-1].code == 1006
    assert close_of(s.data_to_send())[0] == 1007


def test_rsv1_on_control_frame_fails(impl):
    s, c = open_pair(impl)
    s.receive_data(frame(PING, b"", rsv=4))
    assert close_of(s.data_to_send())[0] == 1002


# -- streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [True, False])
def test_streaming_fragments(impl, compression):
    s, c = open_pair(impl, server={"streaming": True, "compression": compression})
    c.send_fragment("h\u00e9", fin=False, first=True, text=True)
    c.send_fragment(b"llo", fin=False)
    c.send_fragment("!", fin=True)
    wire = c.data_to_send()
    frames = read_frames(wire)
    assert [(f[0], f[1], f[2]) for f in frames] == [
        (False, compression, TEXT),
        (False, False, 0),
        (True, False, 0),
    ]
    assert s.receive_data(wire) == [
        Fragment(TEXT, "h\u00e9".encode(), False),
        Fragment(TEXT, b"llo", False),
        Fragment(TEXT, b"!", True),
    ]
    c.send_fragment(b"\x00" * 300, fin=False, first=True)
    c.send_fragment(b"", fin=True)
    events = pump(c, s)
    assert [e.opcode for e in events] == [BINARY, BINARY]
    assert b"".join(e.data for e in events) == b"\x00" * 300
    assert events[-1].fin
    # Whole messages arrive as one fragment.
    c.send("whole")
    assert pump(c, s) == [Fragment(TEXT, b"whole", True)]


def test_streaming_fragment_compress_opt_out(impl):
    s, c = open_pair(impl, server={"streaming": True})
    c.send_fragment(b"a" * 500, fin=False, first=True, compress=False)
    c.send_fragment(b"b" * 500, fin=True)
    wire = c.data_to_send()
    assert [f[1] for f in read_frames(wire)] == [False, False]
    events = s.receive_data(wire)
    assert events == [Fragment(BINARY, b"a" * 500, False), Fragment(BINARY, b"b" * 500, True)]


def test_fragments_reassembled_without_streaming(impl):
    for compression in (True, False):
        s, c = open_pair(impl, server={"compression": compression})
        c.send_fragment("ab", fin=False, first=True, text=True)
        c.ping(b"mid")
        c.send_fragment("cd" * 200, fin=False)
        c.send_fragment("ef", fin=True)
        c.send("next")
        assert pump(c, s) == [Ping(b"mid"), "ab" + "cd" * 200 + "ef", "next"]


def test_streaming_compressed_context_across_messages(impl):
    s, c = open_pair(impl, server={"streaming": True})
    for i in range(5):
        c.send_fragment(b"abc" * 100, fin=False, first=True)
        c.send_fragment(b"def" * 100, fin=True)
        c.send(b"plain %d" % i * 50)
    events = pump(c, s)
    datas = [e.data for e in events]
    assert datas == [b"abc" * 100, b"def" * 100, b"plain %d" % 0 * 50] + [
        d for i in range(1, 5) for d in (b"abc" * 100, b"def" * 100, b"plain %d" % i * 50)
    ]


def test_send_fragment_misuse(impl):
    s, c = open_pair(impl)
    with pytest.raises(InvalidState):
        c.send_fragment(b"x", fin=True)  # no message open
    c.send_fragment(b"x", fin=False, first=True)
    with pytest.raises(InvalidState):
        c.send_fragment(b"y", fin=False, first=True)  # already open
    with pytest.raises(InvalidState):
        c.send("whole")  # would interleave with the open message
    c.ping(b"ok")  # control frames may interleave
    c.send_fragment(b"z", fin=True)
    c.send("after")
    assert pump(c, s) == [Ping(b"ok"), b"xz", "after"]


def test_single_frame_fragmented_send(impl):
    s, c = open_pair(impl)
    c.send_fragment(b"solo", fin=True, first=True)
    assert pump(c, s) == [b"solo"]


def test_streaming_text_utf8_split_across_fragments(impl):
    s, c = open_pair(impl, server={"streaming": True, "compression": False})
    euro = "\u20ac".encode()
    c.send_fragment(euro[:1], fin=False, first=True, text=True)
    c.send_fragment(euro[1:], fin=True)
    assert pump(c, s) == [Fragment(TEXT, euro[:1], False), Fragment(TEXT, euro[1:], True)]


def test_runs_on_the_build_the_twin_fixture_names(twin):
    # conftest switches this module's and connpair's imports to one build.
    import connpair

    suffix = "_c" if twin == "c" else ""
    assert ServerConnection.__module__ == "wsfast.protocol.server_connection" + suffix
    assert ClientConnection.__module__ == "wsfast.protocol.client_connection" + suffix
    assert connpair.ServerConnection is ServerConnection


def test_bytes_pending_counts_what_is_queued(impl):
    s, c = open_pair(impl)
    assert s.bytes_pending == 0
    s.send(b"abc")
    s.send("h\u00e9" * 100)
    s.ping(b"p")
    queued = s.bytes_pending
    data = s.data_to_send()
    assert queued == len(data) > 0
    assert s.bytes_pending == 0
    s.send(b"x" * 70000)
    queued = s.bytes_pending
    assert queued == sum(len(chunk) for chunk in s.chunks_to_send())
    assert s.bytes_pending == 0 and s.data_to_send() == b""


def test_output_one_frame_alone_then_several_in_order(impl):
    """One queued frame is held alone and handed over as bytes; a second
    makes a list, in order; every way of taking the output agrees."""
    s, c = open_pair(impl)
    assert s.take_output() is None and s.frames_pending() == 0 and not s.output_pending()
    s.send(b"one")
    assert s.frames_pending() == 1 and s.output_pending()
    first = s.take_output()
    assert isinstance(first, bytes) and first == b"\x82\x03one"
    assert s.take_output() is None and s.bytes_pending == 0 and not s.output_pending()
    s.send(b"a")
    s.send("b")
    s.ping(b"c")
    assert s.frames_pending() == 3
    queued = s.bytes_pending
    chunks = s.take_output()
    assert chunks == [b"\x82\x01a", b"\x81\x01b", b"\x89\x01c"] and queued == 9
    for take in (s.data_to_send, s.chunks_to_send):
        s.send(b"x")
        s.send(b"yz")
        got = take()
        assert (got if isinstance(got, bytes) else b"".join(got)) == b"\x82\x01x\x82\x02yz"
        s.send(b"x")
        got = take()
        assert (got if isinstance(got, bytes) else b"".join(got)) == b"\x82\x01x"
    assert s.data_to_send() == b"" and s.chunks_to_send() == []
    s.send(b"\x00" * 10)
    assert pump(s, c) == [b"\x00" * 10]  # the peer reads the lone frame


def test_send_prepared_with_its_plain_frame(impl):
    from wsfast.prepared import PreparedMessage

    s, c = open_pair(impl)
    prepared = PreparedMessage("news", backend=impl)
    s.send_prepared(prepared, prepared.plain)
    s.send_prepared(prepared)
    assert s.bytes_pending == 2 * len(prepared.plain)
    assert feed(c, s.data_to_send()) == ["news", "news"]
    # The same rules as without the frame given: not while a fragmented
    # message is open, not once closing, never on a client.
    s.send_fragment(b"a", fin=False, first=True)
    with pytest.raises(InvalidState):
        s.send_prepared(prepared, prepared.plain)
    s.send_fragment(b"b", fin=True)
    s.close()
    with pytest.raises(InvalidState):
        s.send_prepared(prepared, prepared.plain)
    with pytest.raises(InvalidState):
        c.send_prepared(prepared, prepared.plain)
    with pytest.raises(InvalidState):
        c.send_prepared(prepared)
