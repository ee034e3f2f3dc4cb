"""The ASGI WebSocket state machine of the uvicorn backend, without a socket:
every message in every phase, what the app receives and in what order, and
the close code of its disconnect."""

import pytest

from wsfast.asgi.state import (
    SHUTDOWN_CLOSE_CODE,
    Action,
    ASGIWebSocketState,
    Phase,
)
from wsfast.shared import backpressure

ACCEPT = {"type": "websocket.accept"}
SEND = {"type": "websocket.send", "text": "hi"}
CLOSE = {"type": "websocket.close", "code": 1000}
START = {"type": "websocket.http.response.start", "status": 401, "headers": []}
BODY = {"type": "websocket.http.response.body", "body": b"no"}
OTHER = {"type": "websocket.unknown"}
MESSAGES = {"accept": ACCEPT, "send": SEND, "close": CLOSE, "start": START, "body": BODY,
            "other": OTHER}

EXPECTED_HANDSHAKE = ("Expected ASGI message 'websocket.accept', 'websocket.close' or "
                      "'websocket.http.response.start' but got '%s'.")
EXPECTED_BODY = "Expected ASGI message 'websocket.http.response.body' but got '%s'."
EXPECTED_OPEN = "Expected ASGI message 'websocket.send' or 'websocket.close', but got '%s'."
AFTER_CLOSE = "Unexpected ASGI message '%s', after sending 'websocket.close'."


def started():
    state = ASGIWebSocketState()
    assert state.request() is True
    assert state.receive() == {"type": "websocket.connect"}
    return state


def in_handshake():
    return started()


def in_response():
    state = started()
    assert state.app_send(START) is Action.RESPONSE_START
    return state


def in_open():
    state = started()
    assert state.app_send(ACCEPT) is Action.ACCEPT
    state.opened()
    return state


def closed_by_app():
    state = in_open()
    assert state.app_send(CLOSE) is Action.CLOSE
    state.app_closed(1000, "")
    return state


def closed_by_rejection():
    state = started()
    assert state.app_send(CLOSE) is Action.REJECT
    state.rejected()
    return state


def closed_by_response():
    state = in_response()
    assert state.app_send(BODY) is Action.RESPONSE_END
    state.take_response()
    state.rejected()
    return state


def closed_by_failed_accept():
    state = started()
    assert state.app_send(ACCEPT) is Action.ACCEPT
    state.handshake_failed()
    return state


def closed_by_loss_before_answer():
    state = started()
    state.connection_lost()
    return state


PHASES = {
    "handshake": (in_handshake, Phase.HANDSHAKE),
    "response": (in_response, Phase.RESPONSE),
    "open": (in_open, Phase.OPEN),
    "closed by app": (closed_by_app, Phase.CLOSED),
    "closed by rejection": (closed_by_rejection, Phase.CLOSED),
    "closed by response": (closed_by_response, Phase.CLOSED),
    "closed by failed accept": (closed_by_failed_accept, Phase.CLOSED),
}

# (phase, message) -> the action, or the error's template (%s: the type).
TABLE = {
    ("handshake", "accept"): Action.ACCEPT,
    ("handshake", "close"): Action.REJECT,
    ("handshake", "start"): Action.RESPONSE_START,
    ("handshake", "send"): EXPECTED_HANDSHAKE,
    ("handshake", "body"): EXPECTED_HANDSHAKE,
    ("handshake", "other"): EXPECTED_HANDSHAKE,
    ("response", "body"): Action.RESPONSE_END,
    ("response", "accept"): EXPECTED_BODY,
    ("response", "send"): EXPECTED_BODY,
    ("response", "close"): EXPECTED_BODY,
    ("response", "start"): EXPECTED_BODY,
    ("response", "other"): EXPECTED_BODY,
    ("open", "send"): Action.SEND,
    ("open", "close"): Action.CLOSE,
    ("open", "accept"): EXPECTED_OPEN,
    ("open", "start"): EXPECTED_OPEN,
    ("open", "body"): EXPECTED_OPEN,
    ("open", "other"): EXPECTED_OPEN,
}
for _phase in PHASES:
    if _phase.startswith("closed"):
        for _name in MESSAGES:
            TABLE[_phase, _name] = AFTER_CLOSE


def test_the_table_covers_every_phase_and_message():
    assert set(TABLE) == {(p, m) for p in PHASES for m in MESSAGES}


@pytest.mark.parametrize("phase,name", sorted(TABLE))
def test_every_message_in_every_phase(phase, name):
    make, expected_phase = PHASES[phase]
    state = make()
    assert state.phase is expected_phase
    message = MESSAGES[name]
    expected = TABLE[phase, name]
    if isinstance(expected, Action):
        assert state.app_send(message) is expected
    else:
        with pytest.raises(RuntimeError) as info:
            state.app_send(message)
        assert str(info.value) == expected % message["type"]
        assert state.phase is expected_phase  # a refused message changes nothing


@pytest.mark.parametrize("phase", sorted(PHASES))
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_send_after_the_connection_is_lost_is_disconnected(phase, name):
    state = PHASES[phase][0]()
    state.connection_lost()
    assert state.disconnected
    assert state.app_send(MESSAGES[name]) is Action.DISCONNECTED


def test_a_lost_connection_ends_the_handshake_phase_only():
    assert closed_by_loss_before_answer().phase is Phase.CLOSED
    for make, phase in (PHASES["open"], PHASES["response"]):
        state = make()
        state.connection_lost()
        # An accepted app keeps its phase; a denial it started can still
        # be finished by the server.
        assert state.phase is phase


@pytest.mark.parametrize("status", [199, 600, 0, 101])
def test_a_response_status_outside_200_599_is_refused(status):
    state = started()
    with pytest.raises(RuntimeError) as info:
        state.app_send(dict(START, status=status))
    assert str(info.value) == "Invalid HTTP status code '%d' in response." % status
    assert state.phase is Phase.HANDSHAKE


@pytest.mark.parametrize("status", [200, 403, 599])
def test_a_response_status_inside_200_599_starts_a_response(status):
    state = started()
    assert state.app_send(dict(START, status=status)) is Action.RESPONSE_START
    assert state.phase is Phase.RESPONSE


def test_a_response_in_parts_is_sent_whole_without_the_apps_framing_headers():
    state = started()
    headers = [(b"Content-Length", b"99"), (b"X-Why", b"token"), (b"TRANSFER-ENCODING", b"chunked"),
               (b"connection", b"keep-alive"), (b"Content-Type", b"text/plain")]
    assert state.app_send(dict(START, status=401, headers=headers)) is Action.RESPONSE_START
    parts = [b"no ", bytearray(b"token"), memoryview(b" here")]
    for part in parts:
        assert state.app_send({"type": "websocket.http.response.body", "body": part,
                               "more_body": True}) is Action.RESPONSE_BODY
    assert state.phase is Phase.RESPONSE
    assert state.app_send({"type": "websocket.http.response.body"}) is Action.RESPONSE_END
    status, kept, body = state.take_response()
    assert status == 401
    assert kept == [(b"X-Why", b"token"), (b"Content-Type", b"text/plain")]
    assert body == b"no token here"
    assert state.phase is Phase.CLOSED
    with pytest.raises(RuntimeError, match="no denial response"):
        state.take_response()


def test_take_response_without_one_is_an_error():
    with pytest.raises(RuntimeError, match="no denial response"):
        started().take_response()


def test_opened_only_from_the_handshake():
    state = in_open()
    assert state.accepted
    with pytest.raises(RuntimeError, match="accepted in phase OPEN"):
        state.opened()
    with pytest.raises(RuntimeError, match="accepted in phase CLOSED"):
        closed_by_rejection().opened()


def test_the_upgrade_request_is_handled_once():
    state = started()
    with pytest.raises(RuntimeError, match="already handled"):
        state.request()


# -- what the app receives ---------------------------------------------------


def test_connect_first_then_messages_then_one_disconnect_given_again():
    state = ASGIWebSocketState()
    assert state.receive() is None  # nothing yet: the driver waits
    state.request()
    state.opened()
    assert state.message("text") is True
    assert state.message(b"bytes") is True
    assert state.peer_closed(1001, "bye", None) is True
    assert state.receive() == {"type": "websocket.connect"}
    assert state.receive() == {"type": "websocket.receive", "text": "text"}
    assert state.receive() == {"type": "websocket.receive", "bytes": b"bytes"}
    disconnect = {"type": "websocket.disconnect", "code": 1001, "reason": "bye"}
    assert state.receive() == disconnect
    assert state.receive() == disconnect  # asked again
    assert state.receive() == disconnect


def test_messages_after_a_close_are_dropped():
    state = in_open()
    assert state.peer_closed(1000, "", None) is True
    assert state.message("late") is False
    assert state.message(b"late") is False
    assert [state.receive(), state.receive()] == [
        {"type": "websocket.disconnect", "code": 1000, "reason": ""}] * 2
    assert not state.messages


def test_message_sizes_fill_the_queue():
    state = ASGIWebSocketState(max_queue=None, max_queue_bytes=1000)
    state.request()
    state.opened()
    payload = b"x" * 600
    state.message(payload)
    assert not state.messages.paused
    state.message(payload)
    assert state.messages.paused  # over 1000 bytes held
    assert state.messages.size == 2 * backpressure.message_size(payload)
    assert state.receive() == {"type": "websocket.connect"}
    state.receive()
    assert state.messages.paused  # one left: above a quarter of 1000 bytes
    state.receive()
    assert not state.messages.paused


def test_the_queue_pauses_at_max_queue_and_resumes_at_a_quarter():
    state = ASGIWebSocketState(max_queue=8, max_queue_bytes=None)
    state.request()
    state.opened()
    for i in range(7):
        state.message(b"%d" % i)
    assert state.messages.paused  # connect + 7 messages
    received = [state.receive() for _ in range(5)]
    assert received[0] == {"type": "websocket.connect"}
    assert state.messages.paused  # 3 left: above a quarter of 8
    state.receive()
    assert not state.messages.paused


@pytest.mark.parametrize("code,reason,sent,expected", [
    (1000, "done", None, {"code": 1000, "reason": "done"}),
    (1005, "", None, {"code": 1005, "reason": ""}),
    # We failed the connection: the app hears the code we sent.
    (1006, "", (1009, "message too big"), {"code": 1009, "reason": "message too big"}),
    # The transport ended without a close frame.
    (1006, "", None, {"code": 1006}),
])
def test_the_disconnect_code_after_a_close_event(code, reason, sent, expected):
    state = in_open()
    assert state.peer_closed(code, reason, sent) is True
    assert state.closing
    assert state.receive() == dict(expected, type="websocket.disconnect")


def test_the_peers_answer_to_our_close_adds_nothing():
    state = closed_by_app()
    assert state.receive() == {"type": "websocket.disconnect", "code": 1000, "reason": ""}
    assert state.peer_closed(1000, "", (1000, "")) is False
    assert not state.messages


def test_only_the_first_disconnect_counts():
    state = in_open()
    assert state.server_closing(SHUTDOWN_CLOSE_CODE) is True
    assert state.peer_closed(1000, "", None) is False  # closing: the peer's answer
    assert state.input_ended() is False
    assert state.app_closed(1000, "") is False
    assert state.receive() == {"type": "websocket.disconnect", "code": 1012}
    assert not state.messages


def test_a_keepalive_timeout_reports_its_code_and_reason():
    state = in_open()
    assert state.server_closing(1011, "keepalive ping timeout") is True
    assert state.receive() == {"type": "websocket.disconnect", "code": 1011,
                               "reason": "keepalive ping timeout"}


def test_closing_after_the_app_failed_tells_no_one():
    state = in_open()
    assert state.server_closing() is False
    assert state.closing
    assert state.receive() is None
    assert state.message("late") is False


def test_app_close_reports_its_code_and_reason():
    state = in_open()
    assert state.app_closed(4000, "custom") is True
    assert state.phase is Phase.CLOSED and state.closing
    assert state.receive() == {"type": "websocket.disconnect", "code": 4000, "reason": "custom"}


@pytest.mark.parametrize("make", [closed_by_rejection, closed_by_response, closed_by_failed_accept])
def test_no_101_means_a_1006_disconnect(make):
    state = make()
    assert not state.accepted
    assert state.closing
    assert state.receive() == {"type": "websocket.disconnect", "code": 1006}


def test_a_refused_request_before_the_app_started_queues_nothing():
    state = ASGIWebSocketState()
    assert state.handshake_failed() is False
    assert state.phase is Phase.CLOSED and state.closing
    assert state.receive() is None


def test_a_lost_connection_disconnects_after_the_messages_received():
    state = in_open()
    state.message("before")
    state.connection_lost()
    assert state.input_ended() is True
    assert state.receive() == {"type": "websocket.receive", "text": "before"}
    assert state.receive() == {"type": "websocket.disconnect", "code": 1006}


def test_repr_names_the_phase():
    state = in_open()
    assert repr(state) == "<ASGIWebSocketState OPEN>"
    state.app_closed(1000, "")
    state.connection_lost()
    assert repr(state) == "<ASGIWebSocketState CLOSED closing disconnected>"
