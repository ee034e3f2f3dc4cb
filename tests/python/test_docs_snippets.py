"""The code of docs/getting-started.md runs as printed: a reader who has
only the docs gets a broadcast server, an authenticated one and a
reconnecting client that work. Each ```python block is written to a file
with its port (8765) replaced by a free one and run as a subprocess,
stopped by its PID."""

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from wsfast.client import connect
from wsfast.errors import InvalidResponse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "getting-started.md")
DOC_PORT = "8765"


def _blocks():
    with open(PAGE, encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```$", f.read(), re.M | re.S)


def _block(*markers):
    """The one block that contains every marker."""
    found = [b for b in _blocks() if all(m in b for m in markers)]
    assert len(found) == 1, "expected one block with %r in %s" % (markers, PAGE)
    assert DOC_PORT in found[0], "the block no longer uses port " + DOC_PORT
    return found[0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Script:
    """A block run as a subprocess; its output lines arrive on a queue."""

    def __init__(self, tmp_path, name, code, port):
        path = tmp_path / name
        path.write_text(code.replace(DOC_PORT, str(port)), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=str(tmp_path), env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line.rstrip("\n"))

    def expect(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line %r; output:\n%s" % (text, "".join(self.output)))
            try:
                if self.lines.get(timeout=left) == text:
                    return
            except queue.Empty:
                continue

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@contextlib.contextmanager
def running(tmp_path, name, code, port):
    script = Script(tmp_path, name, code, port)
    try:
        deadline = time.monotonic() + 20
        while True:
            if script.proc.poll() is not None:
                raise AssertionError("%s exited:\n%s" % (name, "".join(script.output)))
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, "%s did not listen" % name
            time.sleep(0.05)
        yield script
    finally:
        script.stop()


def test_the_server_and_both_clients(tmp_path):
    server_code = _block("from wsfast.server import Server", '@server.on("connection")')
    client_code = _block("from wsfast.client import connect")
    reconnecting_code = _block("async for ws in wsa.connect(")
    port = _free_port()
    with running(tmp_path, "server.py", server_code, port) as server:
        done = subprocess.run([sys.executable, "-c", client_code.replace(DOC_PORT, str(port))],
                              capture_output=True, text=True, timeout=30, cwd=str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "welcome\nhello\n"

        client = Script(tmp_path, "reconnecting.py", reconnecting_code, port)
        try:
            client.expect("welcome")
            with connect("ws://127.0.0.1:%d/" % port) as other:
                assert other.recv(timeout=5) == "welcome"
                other.send("to everyone")
                assert other.recv(timeout=5) == "to everyone"
            client.expect("to everyone")
            # A server that dies drops the connection abnormally: the client
            # reconnects to the next one on the same port.
            server.stop(signal.SIGKILL)
            with running(tmp_path, "server.py", server_code, port):
                client.expect("welcome", timeout=30)
        finally:
            client.stop()


def test_the_authenticated_broadcast_server(tmp_path):
    code = _block("handshake_hook=check_token")
    port = _free_port()
    with running(tmp_path, "auth_server.py", code, port):
        url = "ws://127.0.0.1:%d/" % port
        for bad in (url, url + "?token=wrong"):
            with pytest.raises(InvalidResponse) as info:
                connect(bad, open_timeout=5)
            assert info.value.status == 401
            assert "HTTP 401 Unauthorized: a valid token is required" in str(info.value)
        with connect(url + "?token=s3cret") as a, connect(url + "?token=s3cret") as b:
            a.send("hi")
            assert a.recv(timeout=5) == "hi"
            assert b.recv(timeout=5) == "hi"
