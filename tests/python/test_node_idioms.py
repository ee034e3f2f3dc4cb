"""Node ``ws`` idioms: ``server.on("connection")`` and the browser's
ready_state names."""

import queue

import pytest

import wsfast
import wsfast.asyncio as wsa
import wsfast.client
import wsfast.server
from wsfast.server import Server

from serverloop import running


def test_connection_is_another_name_for_open():
    joined = queue.Queue()
    with running() as server:
        @server.on("connection")
        def connection(ws):
            joined.put(ws.ready_state)
            ws.send("welcome")

        with wsfast.client.connect("ws://127.0.0.1:%d/" % server.port) as ws:
            assert ws.recv(timeout=5) == "welcome"
            assert ws.ready_state == wsfast.client.OPEN
        assert ws.ready_state == wsfast.client.CLOSED
    assert joined.get(timeout=5) == wsfast.server.OPEN


def test_unknown_event_names_every_event():
    with pytest.raises(ValueError) as info:
        Server("127.0.0.1", 0).on("connect", print)
    assert "unknown event 'connect'" in str(info.value) and "open" in str(info.value)


def test_ready_state_names_as_in_browsers():
    for module in (wsfast, wsfast.server, wsa, wsfast.client):
        assert (module.CONNECTING, module.OPEN, module.CLOSING, module.CLOSED) == (0, 1, 2, 3)
        assert {"CONNECTING", "OPEN", "CLOSING", "CLOSED"} <= set(module.__all__)
