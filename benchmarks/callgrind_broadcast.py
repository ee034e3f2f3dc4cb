"""Server instructions per client per broadcast, counted by callgrind.

    python benchmarks/callgrind_broadcast.py [--clients 2000] [--broadcasts 20] [--publish]
    python benchmarks/callgrind_broadcast.py --topics 10000 [--per-topic 10] [--per-step 1000]

Runs a wsfast server under ``valgrind --tool=callgrind`` twice, with
``--broadcasts`` K and 3K broadcasts of 64 B to ``--clients`` M
connections, and prints (I(3K) - I(K)) / (2 K M): the user-space
instructions the server spends per client and broadcast, with start-up,
handshakes and shutdown cancelled out. Instruction counts do not depend
on what else the machine is doing, so this is the figure to compare
builds with. The clients (a plain epoll loop in a second process) only
drain their sockets. With ``--publish``, every client subscribes to one
topic when it opens and each message goes out with ``server.publish``
instead of ``server.broadcast``. With ``--topics T``, many topics instead
(bench_topics_bun.py's plan, ``topic_plan.py``): the clients hold T
topics of ``--per-topic`` S subscribers each, and each step publishes
``--per-step`` P messages, publish k to topic k x 7919 mod T, so one loop
pass queues P x S frames and flushes each client once; it prints the
instructions per publish and per delivered message. ``--functions N`` also prints the N
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


def serve(clients, broadcasts, port, publish=False, topics=0, per_topic=10, per_step=1000):
    """The measured process: wait for the clients, broadcast (or publish), exit."""
    from wsfast.server import Server

    done = [0]
    message = b"x" * 64
    if topics:
        from topic_plan import STRIDE, assignment, topic_name

        held = iter(assignment(clients, topics, per_topic))
        names = [topic_name(t) for t in range(topics)]

    def step():
        if done[0] >= broadcasts:
            os._exit(0)  # the clients see EOF and stop
        if topics:
            first = done[0] * per_step
            for k in range(first, first + per_step):
                server.publish(names[(k * STRIDE) % topics], message)
        elif publish:
            server.publish("t", message)
        else:
            server.broadcast(message)
        done[0] += 1
        server.call_later(0.002, step)  # after the loop's flush

    def on_open(ws):
        if topics:
            for t in next(held):
                ws.subscribe(names[t])
        elif publish:
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


def count(clients, broadcasts, workdir, publish=False, extra=()):
    """Instructions of one server run under callgrind."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(workdir, "callgrind.%d" % broadcasts)
    log = os.path.join(workdir, "valgrind.%d" % broadcasts)
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--log-file=" + log,
         sys.executable, os.path.abspath(__file__), "--serve", "--clients", str(clients),
         "--broadcasts", str(broadcasts), "--port", str(port)] + (["--publish"] if publish else [])
        + list(extra))
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
    p.add_argument("--topics", type=int, default=0, help="many topics: T topics (see above)")
    p.add_argument("--per-topic", type=int, default=10, help="subscribers per topic (with --topics)")
    p.add_argument("--per-step", type=int, default=1000, help="publishes per step (with --topics)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.clients, args.broadcasts, args.port, args.publish, args.topics, args.per_topic,
              args.per_step)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed")
    workdir = tempfile.mkdtemp(prefix="wsfast-callgrind-")
    extra = ["--topics", str(args.topics), "--per-topic", str(args.per_topic),
             "--per-step", str(args.per_step)] if args.topics else []
    # Per client and message; with --topics, per publish (P per step).
    scale = args.per_step if args.topics else args.clients
    try:
        k = args.broadcasts
        low = count(args.clients, k, workdir, args.publish, extra)
        high = count(args.clients, 3 * k, workdir, args.publish, extra)
        what = "publish" if args.publish or args.topics else "broadcast"
        if args.functions:
            a = function_costs(os.path.join(workdir, "callgrind.%d" % k))
            b = function_costs(os.path.join(workdir, "callgrind.%d" % (3 * k)))
            per = sorted(((b.get(f, 0) - a.get(f, 0)) / (2.0 * k * scale), f) for f in set(a) | set(b))
            print("instructions per %s, by function (self cost):"
                  % (what if args.topics else "client and " + what))
            for v, f in reversed(per[-args.functions:]):
                print("%8.1f  %s" % (v, f))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.topics:
        per = (high - low) / (2.0 * k * args.per_step)
        print("%d clients, %d topics x %d subscribers, %d publishes a step: %d instructions for %d "
              "steps, %d for %d; per publish: %d, per delivered message: %d" % (
                  args.clients, args.topics, args.per_topic, args.per_step, low, k, high, 3 * k,
                  per, per / args.per_topic))
        return 0
    print("%d clients: %d instructions for %d %s, %d for %d; per client and %s: %d" % (
        args.clients, low, k, what + ("es" if what == "publish" else "s"), high, 3 * k, what,
        (high - low) // (2 * k * args.clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
