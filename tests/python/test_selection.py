"""Backend selection: WSFAST_NO_EXTENSIONS, and the public names."""

import importlib
import importlib.util
import os
import subprocess
import sys

import pytest

import wsfast


def _backend_in_child(**env):
    out = subprocess.run(
        [sys.executable, "-c", "import wsfast; print(wsfast.backend)"],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_no_extensions_selects_python():
    assert _backend_in_child(WSFAST_NO_EXTENSIONS="1") == "python"


def test_top_level_matches_environment():
    if os.environ.get("WSFAST_NO_EXTENSIONS"):
        assert wsfast.backend == "python"
    elif importlib.util.find_spec("wsfast.codec._core") is None:
        assert wsfast.backend == "python"
    else:
        assert wsfast.backend == "c"


def test_public_names_come_from_the_active_backend():
    impl = wsfast._impl
    assert impl.BACKEND == wsfast.backend
    for name in ("apply_mask", "validate_utf8", "Utf8Validator", "FrameParser",
                 "FrameEncoder", "encode_frame"):
        assert getattr(wsfast, name) is getattr(impl, name)


def test_public_api_works():
    assert wsfast.apply_mask(b"\x00\x00\x00\x00\x00", b"abcd") == b"abcda"
    assert wsfast.validate_utf8("ok ✓".encode())
    assert not wsfast.validate_utf8(b"\xc0\x80")
    frame = wsfast.FrameEncoder(client=True).encode(wsfast.OP_TEXT, b"hi")
    assert wsfast.FrameParser(server=True).feed(frame) == [(wsfast.OP_TEXT, b"hi", True, False)]


def _compiled_twins():
    from wsfast._twins import TWINS, compiled

    return {name: compiled(name) for name in TWINS}


def test_compiled_twins_follow_the_build():
    built = _compiled_twins()
    if importlib.util.find_spec("wsfast.codec._core") is None:
        assert not any(built.values()), built
    elif os.environ.get("WSFAST_REQUIRE_C") == "1":
        assert all(built.values()), [name for name, module in built.items() if module is None]


def test_both_builds_import_side_by_side():
    # The pure build of every twin imports from its .py even when the
    # compiled one is there: nothing shadows it.
    from wsfast._twins import TWINS

    for name in TWINS:
        assert importlib.import_module(name).__file__.endswith(".py"), name
    for name, module in _compiled_twins().items():
        if module is not None:
            assert not module.__file__.endswith(".py"), module.__file__


def _chosen_in_child(**env):
    code = ("import wsfast.protocol as p, wsfast.server as s, wsfast.http as h; "
            "print(p.Connection.__module__, p.ServerConnection.__module__, "
            "s.WebSocket.__module__, h.__name__)")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_no_extensions_switches_every_twin():
    assert _chosen_in_child(WSFAST_NO_EXTENSIONS="1") == [
        "wsfast.protocol.connection", "wsfast.protocol.server_connection",
        "wsfast.server.websocket", "wsfast.protocol.http"]


def test_the_compiled_twins_are_chosen_when_built():
    if not all(_compiled_twins().values()):
        pytest.skip("compiled twins not built")
    env = {k: v for k, v in os.environ.items() if k != "WSFAST_NO_EXTENSIONS"}
    out = subprocess.run([sys.executable, "-c", "import wsfast.protocol as p, wsfast.server as s; "
                          "print(p.Connection.__module__, s.WebSocket.__module__)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["wsfast.protocol.connection_c", "wsfast.server.websocket_c"]


def test_a_twin_loads_only_by_its_listed_name():
    from wsfast._twins import load

    with pytest.raises(ValueError):
        load("wsfast.protocol.events")
