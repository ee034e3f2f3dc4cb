"""A private redis-server for a test: a free loopback port, a temporary
directory, no persistence; started and stopped by PID. Tests skip when
redis-server is not installed, except under CI (CI=true), where its
absence is a failure: CI installs it."""

import os
import shutil
import socket
import subprocess
import time

import pytest


def require_redis_server():
    """The redis-server path, or skip (fail under CI)."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail("redis-server is not installed, and CI must run the Redis tests")
        pytest.skip("redis-server is not installed")
    pytest.importorskip("hiredis")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    def __init__(self, directory):
        self.binary = require_redis_server()
        self.directory = str(directory)
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.directory, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.command(b"PING") == b"PONG":
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def command(self, *args):
        """One command on a fresh connection; the reply, parsed by hiredis."""
        import hiredis

        from wsfast.bus.resp import command

        reader = hiredis.Reader()
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(command(*args))
            while True:
                data = s.recv(65536)
                if not data:
                    raise ConnectionError("redis closed the connection")
                reader.feed(data)
                reply = reader.gets()
                if reply is not False:
                    return reply


@pytest.fixture
def redis(tmp_path):
    server = RedisProcess(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
