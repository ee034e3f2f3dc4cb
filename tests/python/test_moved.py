"""Every import path that existed before the package was laid out by
layer still works, and names the moved module itself (not a copy)."""

import importlib
import os
import subprocess
import sys

import pytest

import wsfast
from wsfast._moved import MOVED, moved_to
from wsfast._twins import TWINS


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_moved_module(old):
    if old == "wsfast.uvicorn":
        pytest.importorskip("uvicorn")
    module = importlib.import_module(old)
    assert module is moved_to(old)
    new = MOVED[old]
    if new not in TWINS:
        assert module is importlib.import_module(new)
    # The moved module keeps its own name and spec.
    assert module.__spec__.name in (new, new + "_c")


def test_the_public_paths_of_before():
    from wsfast.asyncio import connect as async_connect, serve
    from wsfast.client import connect
    from wsfast.events import Close, Open
    from wsfast.handshake import NOT_FOUND, Accept, Reject
    from wsfast.http import Request
    from wsfast.prepared import PreparedMessage
    from wsfast.protocol import Connection, InvalidState, ServerConnection, keepalive_tick
    from wsfast.server import Server, WebSocket, run_workers
    from wsfast.server_protocol import ServerConnection as OldServerConnection
    from wsfast.topics import TopicRegistry

    assert OldServerConnection is ServerConnection
    assert issubclass(ServerConnection, Connection)
    assert callable(connect) and callable(async_connect) and callable(serve)
    assert callable(run_workers) and callable(keepalive_tick)
    for name in (Close, Open, Accept, Reject, Request, PreparedMessage, InvalidState,
                 Server, WebSocket, TopicRegistry):
        assert isinstance(name, type), name
    assert NOT_FOUND[0] == 404
    for name in ("apply_mask", "validate_utf8", "FrameParser", "FrameEncoder", "Deflater",
                 "Inflater", "encode_frame", "close_code_valid", "mask_kernel", "backend"):
        assert hasattr(wsfast, name), name


def test_uvicorn_finds_the_backend_by_its_old_name():
    pytest.importorskip("uvicorn")
    from uvicorn.importer import import_from_string

    from wsfast.asgi.uvicorn import WSFastProtocol

    assert import_from_string("wsfast.uvicorn:WSFastProtocol") is WSFastProtocol


def test_an_old_path_in_a_fresh_interpreter():
    code = ("import wsfast.server_protocol as old, wsfast.protocol as new; "
            "assert old.ServerConnection is new.ServerConnection; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), check=True)
    assert out.stdout.strip() == "ok"


def test_a_path_that_never_existed_is_still_an_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("wsfast.no_such_module")
