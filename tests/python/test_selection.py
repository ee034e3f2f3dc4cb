"""Backend selection: WSFAST_BACKEND, WSFAST_NO_EXTENSIONS, and the public names."""

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


def _importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def test_top_level_matches_environment():
    asked = os.environ.get("WSFAST_BACKEND")
    if os.environ.get("WSFAST_NO_EXTENSIONS"):
        assert wsfast.backend == "python"
    elif asked:
        assert wsfast.backend == asked
    else:
        from wsfast.codec.backend import BACKENDS, DEFAULT_ORDER

        built = [name for name in DEFAULT_ORDER
                 if _importable("wsfast.codec" + BACKENDS[name])]
        assert wsfast.backend == built[0]


@pytest.mark.parametrize("name", ["c", "cffi", "python"])
def test_backend_env_selects_each_built_backend(name):
    module = {"c": "wsfast.codec._core", "cffi": "wsfast.codec._cffi",
              "python": "wsfast.codec._python"}[name]
    if not _importable(module):
        pytest.skip("%s backend not built" % name)
    env = {k: v for k, v in os.environ.items() if k != "WSFAST_NO_EXTENSIONS"}
    out = subprocess.run(
        [sys.executable, "-c", "import wsfast, wsfast.codec.prepared as p; "
         "print(wsfast.backend, p.PreparedMessage(b'x')._impl.BACKEND, "
         "wsfast.FrameParser.__module__)"],
        env=dict(env, WSFAST_BACKEND=name), capture_output=True, text=True, check=True)
    backend, prepared_with, parser_module = out.stdout.split()
    assert backend == prepared_with == name
    assert parser_module.startswith(module), parser_module


def test_no_extensions_wins_over_backend_env():
    assert _backend_in_child(WSFAST_NO_EXTENSIONS="1", WSFAST_BACKEND="cffi") == "python"


def test_unknown_backend_is_refused_with_the_choices():
    env = {k: v for k, v in os.environ.items() if k != "WSFAST_NO_EXTENSIONS"}
    out = subprocess.run([sys.executable, "-c", "import wsfast"],
                         env=dict(env, WSFAST_BACKEND="rust"),
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "WSFAST_BACKEND must be one of c, cffi, python, not 'rust'" in out.stderr


def test_a_backend_asked_for_but_not_built_is_an_error(monkeypatch):
    from wsfast.codec import backend

    def missing(name):
        raise ImportError("no module named %s" % name)

    monkeypatch.setenv("WSFAST_BACKEND", "cffi")
    monkeypatch.delenv("WSFAST_NO_EXTENSIONS", raising=False)
    monkeypatch.setattr(backend, "load", missing)
    with pytest.raises(ImportError, match="WSFAST_BACKEND=cffi, but that backend is not built"):
        backend.choose()


def test_default_falls_back_along_the_order(monkeypatch):
    from wsfast.codec import backend

    real = backend.load

    def only_python(name):
        if name != "python":
            raise ImportError(name)
        return real(name)

    monkeypatch.delenv("WSFAST_BACKEND", raising=False)
    monkeypatch.delenv("WSFAST_NO_EXTENSIONS", raising=False)
    monkeypatch.setattr(backend, "load", only_python)
    assert backend.choose().BACKEND == "python"


def test_pypy_prefers_cffi():
    code = ("import platform; platform.python_implementation = lambda: 'PyPy'; "
            "import wsfast.codec.backend as b; print(' '.join(b.DEFAULT_ORDER))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cffi", "c", "python"]


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


# Where each twin's build in use shows, as the package's users reach it:
# one expression per twin of wsfast._twins.TWINS, printing a module name.
_TWIN_USERS = {
    "wsfast.codec.prepared": "srv.PreparedMessage.__module__",
    "wsfast.protocol.connection": "p.Connection.__module__",
    "wsfast.protocol.server_connection": "p.ServerConnection.__module__",
    "wsfast.protocol.client_connection": "p.ClientConnection.__module__",
    "wsfast.protocol.handshake": "p.Accept.__module__",
    "wsfast.protocol.http": "h.__name__",
    "wsfast.server.websocket": "s.WebSocket.__module__",
    "wsfast.server.loop": "srv.loop.__name__",
    "wsfast.server.lifecycle": "srv.lifecycle.ServerLifecycle.__module__",
    "wsfast.wsproto._connection": "wp.Connection.__module__",
}
# The compiled-only helpers, as their users hold them (None: not used).
_HELPER_USERS = {
    "wsfast.server._syscalls": ("ws._recv_into", "ws._send", "ws._send_many",
                                "lc._accept_fd", "pl.EpollWaiter"),
    # The drop-in's message fields (the pure fallback's module when not used).
    "wsfast.wsproto._records": ("(ev.Message.__mro__[1].__module__.replace('wsfast.wsproto.events', "
                                "'None'))",),
}


def _chosen_in_child(env):
    from wsfast._twins import HELPERS, TWINS

    assert sorted(_TWIN_USERS) == sorted(TWINS)  # a new twin needs a line here
    assert sorted(_HELPER_USERS) == sorted(HELPERS)
    code = ("import wsfast.protocol as p, wsfast.server as s, wsfast.http as h, "
            "wsfast.server.server as srv; "
            "from wsfast._twins import load; "
            "ws, lc = load('wsfast.server.websocket'), load('wsfast.server.lifecycle'); "
            "import wsfast.server.poller as pl; "
            "import wsfast.wsproto.events as ev; "
            "import wsfast.wsproto.connection as wp; "
            "print(%s); print(%s)" % (
                ", ".join(_TWIN_USERS[name] for name in TWINS),
                ", ".join("getattr(%s, '__module__', %s)" % (e, e)
                          for name in HELPERS for e in _HELPER_USERS[name])))
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True)
    twins, helpers = out.stdout.splitlines()
    return twins.split(), helpers.split()


def test_no_extensions_switches_every_twin():
    twins, helpers = _chosen_in_child(dict(os.environ, WSFAST_NO_EXTENSIONS="1"))
    from wsfast._twins import TWINS

    assert twins == list(TWINS)
    assert helpers == ["None"] * len(helpers)


def test_the_compiled_twins_are_chosen_when_built():
    from wsfast._twins import TWINS

    if not all(_compiled_twins().values()):
        pytest.skip("compiled twins not built")
    env = {k: v for k, v in os.environ.items() if k != "WSFAST_NO_EXTENSIONS"}
    twins, helpers = _chosen_in_child(env)
    assert twins == [name + "_c" for name in TWINS]
    from wsfast._twins import HELPERS

    expected = [name for name in HELPERS for _ in _HELPER_USERS[name]
                if importlib.util.find_spec(name) is not None]
    assert [h for h in helpers if h != "None"] == expected


def test_a_helper_is_none_when_disabled_or_not_built(monkeypatch):
    from wsfast import _twins

    with pytest.raises(ValueError):
        _twins.optional_extension("wsfast.server.poller")
    monkeypatch.setattr(_twins, "HELPERS", ("wsfast.server._not_built",))
    monkeypatch.delenv("WSFAST_NO_EXTENSIONS", raising=False)
    assert _twins.optional_extension("wsfast.server._not_built") is None
    monkeypatch.setattr(_twins, "HELPERS", ("wsfast.codec",))
    assert _twins.optional_extension("wsfast.codec") is importlib.import_module("wsfast.codec")
    monkeypatch.setenv("WSFAST_NO_EXTENSIONS", "1")
    assert _twins.optional_extension("wsfast.codec") is None


def _server_path_in_child(env):
    # What a server and its connections really call: the server's
    # lifecycle, and the interface its WebSockets hold it by.
    code = ("from wsfast.server import Server; "
            "life = Server('127.0.0.1', 0)._life; "
            "print(type(life).__module__, type(life).__mro__[1].__module__)")
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_servers_handshake_path_follows_the_twins():
    # A server's accept, dispatch and destroy are server/lifecycle.py's
    # ServerLifecycle: pure Python under WSFAST_NO_EXTENSIONS, the
    # compiled twin otherwise, on the same build of websocket.Lifecycle.
    pure = _server_path_in_child(dict(os.environ, WSFAST_NO_EXTENSIONS="1"))
    assert pure == ["wsfast.server.lifecycle", "wsfast.server.websocket"]
    if not all(_compiled_twins().values()):
        pytest.skip("compiled twins not built")
    env = {k: v for k, v in os.environ.items() if k != "WSFAST_NO_EXTENSIONS"}
    assert _server_path_in_child(env) == ["wsfast.server.lifecycle_c", "wsfast.server.websocket_c"]


def test_a_twin_loads_only_by_its_listed_name():
    from wsfast._twins import load

    with pytest.raises(ValueError):
        load("wsfast.protocol.events")
