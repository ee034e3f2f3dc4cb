"""Backend selection: WSFAST_NO_EXTENSIONS, and the public names."""

import os
import subprocess
import sys

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
    import importlib.util

    if os.environ.get("WSFAST_NO_EXTENSIONS"):
        assert wsfast.backend == "python"
    elif importlib.util.find_spec("wsfast._core") is None:
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


# protocol.py and server/websocket.py are compiled too when the extension
# is built (one source, two builds: see protocol.pxd).
TWINS = ("wsfast.protocol", "wsfast.server.websocket", "wsfast.server.loop",
         "wsfast.http", "wsfast.handshake", "wsfast.server_protocol")


def _twins():
    import importlib

    return [importlib.import_module(name) for name in TWINS]


def _compiled(module):
    return not module.__file__.endswith(".py")


def test_compiled_twins_follow_the_build():
    import importlib.util

    if importlib.util.find_spec("wsfast._core") is None:
        assert not any(_compiled(m) for m in _twins())
    elif os.environ.get("WSFAST_REQUIRE_C") == "1":
        assert all(_compiled(m) for m in _twins()), [m.__file__ for m in _twins()]


def test_compiled_twins_are_not_older_than_their_source():
    """In a source tree, a compiled module older than its .py would run the
    old code: rebuild (``pip install -e .``) after editing either."""
    for module in _twins():
        root = os.path.dirname(os.path.dirname(os.path.dirname(wsfast.__file__)))
        if not _compiled(module) or not os.path.exists(os.path.join(root, "setup.py")):
            continue
        folder, name = os.path.split(module.__file__)
        source = os.path.join(folder, name.split(".")[0] + ".py")
        assert os.path.getmtime(module.__file__) >= os.path.getmtime(source), (
            "%s is older than %s: rebuild" % (module.__file__, source))
