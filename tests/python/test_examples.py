"""Every script in examples/ runs: each server is started as a subprocess
on a free loopback port, talked to, and stopped by its PID; each client is
run against one of them."""

import contextlib
import importlib.util
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

from wsfast.client import connect
from wsfast.errors import InvalidResponse

from netutil import make_cert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(proc, port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("example exited early:\n" + proc.stdout.read())
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError("example did not listen on %d" % port)


@contextlib.contextmanager
def example(name, *args, env=None):
    """Run examples/<name> with ``--port <free port>``; yields the port."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, name), "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, **(env or {})), cwd=ROOT,
    )
    try:
        _wait_listening(proc, port)
        yield port
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
        proc.stdout.close()


def _require(*modules):
    """Skip when a module is missing, except under CI, where .ci/run installs
    the test extra and a skip would hide an example that no longer runs."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must install %s for this example" % " and ".join(missing))
        pytest.skip("needs %s" % " and ".join(missing))


def _run_client(name, *args, timeout=30):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_broadcast_chat():
    with example("broadcast_chat.py") as port:
        url = "ws://127.0.0.1:%d/" % port
        with connect(url) as alice, connect(url) as bob:
            assert alice.recv(timeout=5).startswith("welcome, guest")
            bob_name = bob.recv(timeout=5).split(", ")[1]
            bob.send("hi all")
            assert alice.recv(timeout=5) == "%s: hi all" % bob_name
            alice.send("hello bob")
            assert bob.recv(timeout=5).endswith(": hello bob")


def test_auth_server_checks_the_token_in_the_handshake():
    with example("auth_server.py", env={"WSFAST_TOKEN": "t0ken"}) as port:
        url = "ws://127.0.0.1:%d/" % port
        for bad in (url, url + "?token=wrong"):
            with pytest.raises(InvalidResponse) as info:
                connect(bad)
            assert info.value.status == 401
            assert ("WWW-Authenticate", "Bearer") in info.value.headers
        with connect(url + "?token=t0ken") as ws:
            ws.send("in by query")
            assert ws.recv(timeout=5) == "in by query"
        with connect(url, extra_headers=[("Authorization", "Bearer t0ken")]) as ws:
            ws.send("in by header")
            assert ws.recv(timeout=5) == "in by header"
        refused = _run_client("blocking_client.py", url + "?token=nope")
        assert refused.returncode != 0
        assert "HTTP 401 Unauthorized: a valid token is required" in refused.stderr


def test_origin_allowlist():
    with example("origin_allowlist.py", "--origin", "https://good.example") as port:
        url = "ws://127.0.0.1:%d/" % port
        with connect(url, origin="https://good.example") as ws:
            ws.send("ok")
            assert ws.recv(timeout=5) == "ok"
        for origin in ("https://evil.example", None):
            with pytest.raises(InvalidResponse) as info:
                connect(url, origin=origin)
            assert info.value.status == 403


def test_blocking_client_script():
    with example("auth_server.py", env={"WSFAST_TOKEN": "t0ken"}) as port:
        url = "ws://127.0.0.1:%d/?token=t0ken" % port
        done = _run_client("blocking_client.py", url, "one", "two")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("reply: one\nreply: two\nping: ")


def test_reconnecting_client_survives_a_server_restart():
    port = _free_port()
    url = "ws://127.0.0.1:%d/" % port
    client = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, "reconnecting_client.py"), url,
         "--initial-delay", "0.1", "--max-delay", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines = []

    def read_until(text, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = client.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if text in line:
                return
        raise AssertionError("no %r in:\n%s" % (text, "\n".join(lines)))

    def start_server():
        proc = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, "broadcast_chat.py"), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        _wait_listening(proc, port)
        return proc

    try:
        read_until("retry 1 in")  # nothing listens yet: the attempt fails and is retried (logged)
        server = start_server()
        read_until("received welcome")
        os.kill(server.pid, signal.SIGKILL)  # no close frame: 1006
        server.wait(10)
        read_until("dropped:")
        server = start_server()
        read_until("received welcome")  # reconnected on its own
        os.kill(server.pid, signal.SIGTERM)  # a graceful stop: 1001
        server.wait(15)
        read_until("closed normally")
        assert client.wait(10) == 0
    finally:
        for proc in (client,):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        client.stdout.close()
    assert sum("connected" == line for line in lines) == 2


def test_tls_server(tmp_path):
    cert, key = make_cert(str(tmp_path))
    with example("tls_server.py", "--cert", cert, "--key", key) as port:
        context = ssl.create_default_context(cafile=cert)
        with connect("wss://localhost:%d/" % port, ssl=context) as ws:
            ws.send("over TLS")
            assert ws.recv(timeout=5) == "over TLS"


def test_fastapi_app_on_uvicorn_with_wsfast():
    _require("fastapi", "uvicorn")
    with example("fastapi_app.py") as port:
        url = "ws://127.0.0.1:%d/ws" % port
        with connect(url) as a, connect(url) as b:
            assert a.response.status == 101
            a.send("from a")
            assert a.recv(timeout=5) == "from a"
            assert b.recv(timeout=5) == "from a"


def test_typed_asyncio_echo():
    done = _run_client(os.path.join("typed", "asyncio_echo.py"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hello round trip ")


def test_typed_echo_server_and_blocking_client():
    with example(os.path.join("typed", "echo_server.py")) as port:
        done = _run_client(os.path.join("typed", "blocking_client.py"), "ws://127.0.0.1:%d/" % port)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("subprotocol: None\nreply: hello\nping round trip: ")
        with connect("ws://127.0.0.1:%d/" % port) as ws:
            ws.send(b"\x00bytes")
            assert ws.recv(timeout=5) == b"\x00bytes"
