"""Server instructions per echo round trip or per handshake (callgrind).

    python benchmarks/callgrind_echo.py [--scenario echo|handshake] [-n 2000]

Runs a wsfast echo server under ``valgrind --tool=callgrind`` twice, once
for N and once for 3N operations from a client in this process, and
prints (I(3N) - I(N)) / 2N: the user-space instructions the server spends
per operation, with start-up and shutdown cancelled out. ``echo``: one
256 B binary message and its echo, one in flight, on one connection;
``handshake``: connect, upgrade, close. Instruction counts do not depend
on what else the machine is doing, so this is the figure to compare
builds with (run it with each build's interpreter). Needs valgrind.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

UPGRADE = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
MESSAGE = b"\x82\xfe\x01\x00" + b"\x00" * 4 + b"m" * 256  # masked (zero key), 256 B
CLOSE = b"\x88\x82\x00\x00\x00\x00\x03\xe8"


def serve(port, operations):
    """The measured process: echo until ``operations`` closes or messages."""
    from wsfast.server import Server

    count = [0]

    def done(*_):
        count[0] += 1
        if count[0] >= operations:
            os._exit(0)

    server = Server("127.0.0.1", port, compression=False, ping_interval=None)
    server.on("message", lambda ws, m: (ws.send(m), done()))
    server.on("close", done)
    server.run()


def _read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed")
        data += chunk
    return data


def drive(port, scenario, operations):
    if scenario == "echo":
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(UPGRADE)
        _read_until(sock, b"\r\n\r\n")
        for _ in range(operations):
            sock.sendall(MESSAGE)
            got = 0
            while got < 260:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                got += len(chunk)
        sock.close()
        return
    for _ in range(operations):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(UPGRADE)
        _read_until(sock, b"\r\n\r\n")
        sock.sendall(CLOSE)
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        sock.close()


def measure(scenario, operations):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tempfile.mkdtemp()
    outfile = os.path.join(out, "cg.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile,
         sys.executable, __file__, "--serve", str(port), "-n", str(operations)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
        drive(port, scenario, operations)  # (the probe never opened: no close event)
        server.wait(600)
        with open(outfile) as f:
            text = f.read()
        match = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
        return int(match.group(1))
    finally:
        if server.poll() is None:
            server.kill()
        shutil.rmtree(out, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("echo", "handshake"), default="echo")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.n)
        return
    low = measure(args.scenario, args.n)
    high = measure(args.scenario, 3 * args.n)
    per_op = (high - low) / (2 * args.n)
    import wsfast

    print("%s: %.0f server instructions per %s (N=%d; wsfast %s, backend %s)"
          % (args.scenario, per_op, "round trip" if args.scenario == "echo" else "handshake",
             args.n, wsfast.__version__, wsfast.backend))


if __name__ == "__main__":
    main()
