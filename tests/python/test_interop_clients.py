"""Real third-party clients against wsfast's server: Node's ``ws`` and
``websocket-client``. (The ``websockets`` library is covered in
test_server_loop.py and test_interop_websockets.py.) Each echoes text and
binary from 0 B to 1 MiB and closes cleanly. Skipped when a peer is not
installed, except under CI, which installs them all."""

import json
import os
import shutil
import subprocess

import pytest

from serverloop import Recorder, running

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PATHS = ["/usr/share/nodejs", "/usr/lib/nodejs"]  # Debian's node-ws lives here


def _missing(what):
    if os.environ.get("CI"):
        pytest.fail("CI must install %s" % what)
    pytest.skip("%s not installed" % what)


def _node_env():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        _missing("node")
    env = dict(os.environ, NODE_PATH=os.pathsep.join(
        [p for p in NODE_PATHS if os.path.isdir(p)] + [os.environ.get("NODE_PATH", "")]))
    probe = subprocess.run([node, "-e", "require('ws')"], env=env, capture_output=True, timeout=30)
    if probe.returncode != 0:
        _missing("Node's ws module (Debian package node-ws)")
    return node, env


@pytest.mark.parametrize("compression", [True, False])
def test_node_ws_client(compression):
    node, env = _node_env()
    rec = Recorder()
    with running(compression=compression, **rec.handlers()) as server:
        url = "ws://127.0.0.1:%d/" % server.port
        proc = subprocess.run([node, os.path.join(HERE, "interop", "node_ws_client.js"), url,
                               "deflate" if compression else "plain"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["ok"], result
        assert result["received"] == 2 * len(SIZES)
        assert ("permessage-deflate" in result["extensions"]) == compression
        assert result["closeCode"] == 1000  # our echo of its close (the code only)
        assert rec.next("close")[1:] == (1000, "done")


def test_websocket_client():
    websocket = pytest.importorskip("websocket") if not os.environ.get("CI") else __import__("websocket")
    # websocket-client does not implement permessage-deflate: it offers none,
    # and the server must then send uncompressed frames.
    rec = Recorder()
    with running(compression=True, **rec.handlers()) as server:
        ws = websocket.create_connection("ws://127.0.0.1:%d/" % server.port, timeout=10)
        try:
            for size in SIZES:
                text = "é" * (size // 2)
                ws.send(text)
                assert ws.recv() == text
                data = os.urandom(size)
                ws.send_binary(data)
                opcode, got = ws.recv_data()
                assert opcode == websocket.ABNF.OPCODE_BINARY and got == data
        finally:
            ws.close(status=1000, reason=b"done")
        assert rec.next("close")[1:] == (1000, "done")
