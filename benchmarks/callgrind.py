"""Server instructions per operation under callgrind: what
``callgrind_echo.py`` and ``wsfast bench --callgrind`` share.

A server runs under ``valgrind --tool=callgrind`` twice, once while a
client makes N operations and once for 3N; (I(3N) - I(N)) / 2N is the
user-space instructions the server spends per operation, with start-up,
shutdown and idle waiting cancelled out. Instruction counts do not depend
on what else the machine is doing. Needs valgrind.

The drivers here make one kind of operation each, over plain sockets:

* ``echo``: one 256 B binary message and its echo, one in flight;
* ``handshake``: connect, upgrade, read the 101, close;
* ``burst``: N x 1 KiB binary messages written in large chunks while
  every echo is read;
* ``deflate``: one 256 B JSON text message and its echo, permessage-deflate
  negotiated as a browser offers it (``bench_client.deflate_session``).
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

UPGRADE = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
MESSAGE = b"\x82\xfe\x01\x00" + b"\x00" * 4 + b"m" * 256  # masked (zero key), 256 B
BURST_MESSAGE = b"\x82\xfe\x04\x00" + b"\x00" * 4 + b"b" * 1024  # 1 KiB
CLOSE = b"\x88\x82\x00\x00\x00\x00\x03\xe8"
DRIVERS = ("echo", "handshake", "burst", "deflate")


def available():
    return shutil.which("valgrind") is not None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed")
        data += chunk
    return data


def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(UPGRADE)
    rest = _read_until(sock, b"\r\n\r\n").split(b"\r\n\r\n", 1)[1]
    return sock, len(rest)


def _close(sock):
    try:
        sock.sendall(CLOSE)
        sock.settimeout(10)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


def drive(port, kind, operations):
    """Makes ``operations`` operations of ``kind`` (see DRIVERS)."""
    if kind == "echo":
        sock, _ = _connect(port)
        for _ in range(operations):
            sock.sendall(MESSAGE)
            got = 0
            while got < 260:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:  # a server that stops itself after its last count
                    sock.close()
                    return
                got += len(chunk)
        _close(sock)
    elif kind == "handshake":
        for _ in range(operations):
            sock, _ = _connect(port)
            _close(sock)
    elif kind == "burst":
        sock, _ = _connect(port)
        sock.setblocking(False)
        chunk_msgs = 64
        out = memoryview(BURST_MESSAGE * chunk_msgs)
        want, got, sent, pos = operations * 1028, 0, 0, 0
        while got < want:
            wr = [sock] if sent < operations else []
            r, w, _ = select.select([sock], wr, [], 60)
            if not r and not w:
                raise TimeoutError("burst stalled")
            if w:
                n = min(chunk_msgs, operations - sent) * len(BURST_MESSAGE)
                k = sock.send(out[pos:n])
                pos += k
                if pos == n:
                    sent += n // len(BURST_MESSAGE)
                    pos = 0
            if r:
                data = sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("server closed")
                got += len(data)
        sock.setblocking(True)
        _close(sock)
    elif kind == "deflate":
        import bench_client
        from json_corpus import sized_message

        msgs = [sized_message(256, i) for i in range(200)]
        round_trip, sock = bench_client.deflate_session(port)
        for k in range(operations):
            round_trip(msgs[k % len(msgs)])
        _close(sock)
    else:
        raise ValueError(kind)


def _wait_listening(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except ConnectionRefusedError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start under valgrind (exit status %s)" % proc.poll())
            time.sleep(0.2)


def instructions(argv, port, kind, operations, self_exits=False, timeout=600):
    """Total instructions of ``argv`` (a server on ``port``) run under
    callgrind while ``drive(port, kind, operations)`` runs. The server is
    then stopped with SIGTERM, unless ``self_exits`` (it exits after the
    operations). Raises RuntimeError if there is no count."""
    out = tempfile.mkdtemp()
    outfile = os.path.join(out, "cg.out")
    log = os.path.join(out, "valgrind.log")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile, "--log-file=" + log] + list(argv),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        _wait_listening(port, proc, 180)
        drive(port, kind, operations)
        if not self_exits:
            time.sleep(0.5)  # let the server finish the last close
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)
        try:
            with open(outfile) as f:
                text = f.read()
        except OSError:
            tail = ""
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = " ".join(f.read().split()[-30:])
            raise RuntimeError("callgrind wrote no counts: %s" % tail[-300:]) from None
        keep = os.environ.get("WSFAST_CALLGRIND_KEEP")  # a folder: keep the profile
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(outfile, os.path.join(keep, "callgrind.out.%s.%d" % (kind, operations)))
        match = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
        if not match:
            raise RuntimeError("no totals in the callgrind output")
        return int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        shutil.rmtree(out, ignore_errors=True)


def per_operation(make_argv, kind, operations, self_exits=False, timeout=600):
    """(I(3N) - I(N)) / 2N for the server ``make_argv(port, ops)`` starts."""
    counts = []
    for ops in (operations, 3 * operations):
        port = free_port()
        counts.append(instructions(make_argv(port, ops), port, kind, ops, self_exits, timeout))
    return (counts[1] - counts[0]) / (2 * operations)
