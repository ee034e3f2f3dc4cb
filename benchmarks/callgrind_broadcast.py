"""Server instructions per client per broadcast, counted by callgrind.

    python benchmarks/callgrind_broadcast.py [--clients 2000] [--broadcasts 20] [--publish]

Runs a wsfast server under ``valgrind --tool=callgrind`` twice, with
``--broadcasts`` K and 3K broadcasts of 64 B to ``--clients`` M
connections, and prints (I(3K) - I(K)) / (2 K M): the user-space
instructions the server spends per client and broadcast, with start-up,
handshakes and shutdown cancelled out. Instruction counts do not depend
on what else the machine is doing, so this is the figure to compare
builds with. The clients (a plain epoll loop in a second process) only
drain their sockets. With ``--publish``, every client subscribes to one
topic when it opens and each message goes out with ``server.publish``
instead of ``server.broadcast``. ``--functions N`` also prints the N
functions whose instructions grow most with the messages (self cost from
``callgrind_annotate``, differenced the same way). Needs valgrind.
"""

import argparse
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

UPGRADE = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def serve(clients, broadcasts, port, publish=False):
    """The measured process: wait for the clients, broadcast (or publish), exit."""
    from wsfast.server import Server

    done = [0]

    def step():
        if done[0] >= broadcasts:
            os._exit(0)  # the clients see EOF and stop
        if publish:
            server.publish("t", b"x" * 64)
        else:
            server.broadcast(b"x" * 64)
        done[0] += 1
        server.call_later(0.002, step)  # after the loop's flush

    def on_open(ws):
        if publish:
            ws.subscribe("t")
        if len(server.clients) == clients:
            server.call_later(0.5, step)

    server = Server("127.0.0.1", port, compression=False, ping_interval=None, on_open=on_open)
    server.serve_forever()


def drain(clients, port, timeout=600.0):
    """The clients: connect (retrying while valgrind starts), then read until EOF."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    ep, socks = select.epoll(), {}
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        s.sendall(UPGRADE)
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    while socks and time.monotonic() < deadline:
        for fd, _ in ep.poll(1.0):
            try:
                data = socks[fd].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                ep.unregister(fd)
                socks.pop(fd).close()


def count(clients, broadcasts, workdir, publish=False):
    """Instructions of one server run under callgrind."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(workdir, "callgrind.%d" % broadcasts)
    log = os.path.join(workdir, "valgrind.%d" % broadcasts)
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--log-file=" + log,
         sys.executable, os.path.abspath(__file__), "--serve", "--clients", str(clients),
         "--broadcasts", str(broadcasts), "--port", str(port)] + (["--publish"] if publish else []))
    try:
        drain(clients, port)
        server.wait(timeout=600)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with open(log) as f:
        found = re.search(r"Collected : (\d+)", f.read())
    if not found:
        raise SystemExit("no instruction count in %s" % log)
    return int(found.group(1))


ANNOTATE_ROW = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?:\s+\[(.*)\])?\s*$")


def function_costs(path):
    """{function: self instructions} of one callgrind output."""
    text = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True,
                          text=True, timeout=600).stdout
    costs = {}
    for line in text.splitlines():
        m = ANNOTATE_ROW.match(line)
        if m and "PROGRAM TOTALS" not in line:
            where = m.group(2).rsplit("/", 1)[-1]
            name = "%s [%s]" % (where, os.path.basename(m.group(3) or "?"))
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--broadcasts", type=int, default=20)
    p.add_argument("--functions", type=int, default=0, help="show the N functions that grow most")
    p.add_argument("--publish", action="store_true", help="server.publish to one topic instead of broadcast")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.clients, args.broadcasts, args.port, args.publish)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed")
    workdir = tempfile.mkdtemp(prefix="wsfast-callgrind-")
    try:
        k = args.broadcasts
        low = count(args.clients, k, workdir, args.publish)
        high = count(args.clients, 3 * k, workdir, args.publish)
        what = "publish" if args.publish else "broadcast"
        if args.functions:
            a = function_costs(os.path.join(workdir, "callgrind.%d" % k))
            b = function_costs(os.path.join(workdir, "callgrind.%d" % (3 * k)))
            per = sorted(((b.get(f, 0) - a.get(f, 0)) / (2.0 * k * args.clients), f) for f in set(a) | set(b))
            print("instructions per client and %s, by function (self cost):" % what)
            for v, f in reversed(per[-args.functions:]):
                print("%8.1f  %s" % (v, f))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("%d clients: %d instructions for %d %s, %d for %d; per client and %s: %d" % (
        args.clients, low, k, what + ("es" if what == "publish" else "s"), high, 3 * k, what,
        (high - low) // (2 * k * args.clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
