"""The control channel between the harness and the server workers.

Each worker binds a UNIX datagram socket ``w-<pid>`` in a directory the
harness chose; the harness binds ``harness`` in the same directory. A
command is one JSON datagram; each answer is one JSON datagram back to
the sender. A worker only learns about its own clients, so a broadcast
"to all" is a command sent to every worker carrying an agreed instant on
CLOCK_MONOTONIC (``time.monotonic()`` is system-wide on Linux): each
worker schedules its own broadcast for that instant.
"""

import json
import os
import socket
import time


class WorkerEndpoint:
    """The worker's side: ``recv()`` a command, ``reply(addr, obj)``."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "w-%d" % os.getpid())
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def recv(self):
        data, addr = self.sock.recvfrom(65536)
        return json.loads(data), addr

    def reply(self, addr, obj):
        obj.setdefault("pid", os.getpid())
        try:
            self.sock.sendto(json.dumps(obj).encode(), addr)
        except OSError:
            pass  # the harness is gone

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class Controller:
    """The harness's side: find the workers, ask them all, gather answers."""

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, "harness")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.workers = {}  # pid -> socket path
        self.seq = 0
        self.stash = {}  # seq -> {pid: answer} for answers nobody waits for yet

    def discover(self, count, timeout):
        """Wait until ``count`` workers have bound their sockets and answer
        a ping; returns their PIDs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {}
            for name in os.listdir(self.directory):
                if name.startswith("w-"):
                    pid = int(name[2:])
                    if os.path.exists("/proc/%d" % pid):
                        found[pid] = os.path.join(self.directory, name)
            if len(found) >= count:
                self.workers = found
                answers = self.ask({"cmd": "stats"}, timeout=max(1.0, deadline - time.monotonic()))
                if len(answers) == len(found):
                    return sorted(found)
            time.sleep(0.1)
        raise RuntimeError("only %d of %d server workers came up" % (len(self.workers), count))

    def ask(self, command, timeout=10.0):
        """Send ``command`` to every worker; returns {pid: answer} for those
        that answered within ``timeout`` seconds."""
        return self.gather(self.send(command), timeout)

    def send(self, command):
        """Send ``command`` to every worker; returns its sequence number."""
        self._drain()
        self.seq += 1
        data = json.dumps(dict(command, seq=self.seq)).encode()
        for path in self.workers.values():
            try:
                self.sock.sendto(data, path)
            except OSError:
                pass
        return self.seq

    def gather(self, seq, timeout=10.0):
        """The answers to command ``seq``: {pid: answer}."""
        answers = self.stash.pop(seq, {})
        deadline = time.monotonic() + timeout
        while len(answers) < len(self.workers):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                raw = self.sock.recv(65536)
            except socket.timeout:
                break
            obj = json.loads(raw)
            if obj.get("seq") == seq:
                answers[obj["pid"]] = obj
            else:
                self.stash.setdefault(obj.get("seq"), {})[obj["pid"]] = obj
        return answers

    def _drain(self):
        """Keep answers that arrived meanwhile (for a later ``gather``)."""
        self.sock.setblocking(False)
        try:
            while True:
                obj = json.loads(self.sock.recv(65536))
                self.stash.setdefault(obj.get("seq"), {})[obj["pid"]] = obj
        except (BlockingIOError, InterruptedError):
            pass

    def close(self):
        self.sock.close()
