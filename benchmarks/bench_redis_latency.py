"""Topics across servers on Redis: latency from publish to receipt.

Two server groups on one private redis-server (loopback): a publisher
client asks group A to publish (``server.publish``, stamped with
CLOCK_MONOTONIC at the call) RATE times a second for SECONDS; SUBSCRIBERS
clients of group B, in another process, take each message and record
now - stamp. In the same run, Redis's own PUBLISH-to-subscriber latency
is measured the same way with a minimal subscriber (a socket and
hiredis.Reader) and a minimal publisher, at the same rate: the difference
is wsfast's overhead on top of Redis. Not a pass/fail test.

``--client bun --bun PATH``: the subscribers are Bun's WebSocket clients
(``redis_latency_client.js``, one process) instead of Python's asyncio
ones, so that 1,000 subscribers at 1,000 messages/s each are not limited
by the reader. ``--socketio DIR`` (a directory whose node_modules holds
socket.io, @socket.io/redis-adapter and redis, from npm) adds socket.io
on the same Redis: two ``socketio_redis_server.js`` servers under node,
the same roles (publish on A, subscribers in a room on B), with
``--client bun`` only (the receiver speaks Engine.IO's WebSocket
transport directly).

    python benchmarks/bench_redis_latency.py [--subscribers 1000] [--rate 1000]
        [--seconds 5] [--runs 3] [--workers 1] [--client py|bun] [--bun PATH]
        [--socketio DIR]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))

import hiredis  # noqa: E402

from wsfast.bus.resp import command  # noqa: E402
from wsfast.client import connect  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_command(port, *args):
    reader = hiredis.Reader()
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(command(*args))
        while (reply := reader.gets()) is False:
            reader.feed(s.recv(65536))
    return reply


def start_redis(directory):
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", directory],
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis_command(port, b"PING") == b"PONG":
                return proc, port
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def start_group(url, workers):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "redis_bench_app.py"), url, str(workers)],
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    time.sleep(0.5)  # the workers replace the supervisor's probe listener
    return proc, port


BUN = None  # --client bun: the bun binary


def start_receiver(*args):
    if BUN is not None and args[0] != "raw":
        command_line = [BUN, os.path.join(HERE, "redis_latency_client.js")]
    else:
        command_line = [sys.executable, os.path.join(HERE, "redis_latency_client.py")]
    proc = subprocess.Popen(command_line + list(map(str, args)), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", "the receiver did not get ready"
    return proc


def start_socketio(url, modules):
    env = dict(os.environ, NODE_PATH=os.path.join(modules, "node_modules"))
    proc = subprocess.Popen([shutil.which("node"), os.path.join(HERE, "socketio_redis_server.js"), url],
                            stdout=subprocess.PIPE, text=True, env=env)
    return proc, int(proc.stdout.readline())


def socketio_sample(args, port_a, port_b):
    receiver = start_receiver("sio", port_b, args.subscribers, args.seconds + 3)
    time.sleep(0.5)  # the adapter's subscriptions are made at start; joins are local
    publisher = connect("ws://127.0.0.1:%d/socket.io/?EIO=4&transport=websocket" % port_a, compression=False)
    assert publisher.recv(timeout=5).startswith("0")  # Engine.IO open
    publisher.send("40")  # connect to the namespace "/"
    assert publisher.recv(timeout=5).startswith("40")
    sent = paced(args.rate, args.seconds, lambda: publisher.send('42["pub"]'))
    result = finish_receiver(receiver)
    publisher.close()
    result["expected"] = sent * args.subscribers
    return result


def finish_receiver(proc):
    out = proc.stdout.readline()
    proc.wait(30)
    return json.loads(out)


def paced(rate, seconds, send):
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send()
    return count


def wait_numsub(redis_port, channel, at_least):
    deadline = time.monotonic() + 10
    while redis_command(redis_port, b"PUBSUB", b"NUMSUB", channel)[1] < at_least:
        assert time.monotonic() < deadline, "the subscribers did not subscribe"
        time.sleep(0.05)


def wsfast_sample(args, redis_port, port_a, port_b):
    receiver = start_receiver("ws", port_b, args.subscribers, args.seconds + 3)
    wait_numsub(redis_port, b"bench:bench", 1)
    publisher = connect("ws://127.0.0.1:%d/" % port_a, compression=False)
    sent = paced(args.rate, args.seconds, lambda: publisher.send("pub"))
    result = finish_receiver(receiver)
    publisher.close()
    result["expected"] = sent * args.subscribers
    return result


def redis_sample(args, redis_port):
    receiver = start_receiver("raw", redis_port, "raw", args.seconds + 3)
    sock = socket.create_connection(("127.0.0.1", redis_port))
    sock.setblocking(False)

    def send():
        sock.sendall(command(b"PUBLISH", b"raw", b"%d" % time.monotonic_ns()))
        try:
            sock.recv(65536)  # the replies, discarded
        except BlockingIOError:
            pass

    sent = paced(args.rate, args.seconds, send)
    result = finish_receiver(receiver)
    sock.close()
    result["expected"] = sent
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0, help="publishes per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="workers per server group")
    parser.add_argument("--client", choices=("py", "bun"), default="py", help="the subscribers' client")
    parser.add_argument("--bun", help="the bun binary (for --client bun)")
    parser.add_argument("--socketio", metavar="DIR", help="add socket.io + @socket.io/redis-adapter from "
                        "DIR/node_modules (needs --client bun)")
    args = parser.parse_args()
    global BUN
    if args.client == "bun":
        if not args.bun:
            parser.error("--client bun needs --bun")
        BUN = args.bun
    elif args.socketio:
        parser.error("--socketio needs --client bun")
    directory = tempfile.mkdtemp()
    redis, redis_port = start_redis(directory)
    url = "redis://127.0.0.1:%d/0" % redis_port
    groups = []
    try:
        groups = [start_group(url, args.workers), start_group(url, args.workers)]
        (_, port_a), (_, port_b) = groups
        if args.socketio:
            groups += [start_socketio(url, args.socketio), start_socketio(url, args.socketio)]
        rows, sio_rows = [], []
        for run in range(args.runs):
            ours = wsfast_sample(args, redis_port, port_a, port_b)
            raw = redis_sample(args, redis_port)
            rows.append((ours, raw))
            line = ("run %d: wsfast p50 %.0f us p99 %.0f us (%d/%d delivered); Redis alone p50 %.0f us "
                    "p99 %.0f us (%d/%d)" % (run + 1, ours["p50_us"], ours["p99_us"], ours["count"],
                                             ours["expected"], raw["p50_us"], raw["p99_us"], raw["count"],
                                             raw["expected"]))
            if args.socketio:
                sio = socketio_sample(args, groups[2][1], groups[3][1])
                sio_rows.append(sio)
                line += "; socket.io p50 %.0f us p99 %.0f us (%d/%d)" % (
                    sio["p50_us"], sio["p99_us"], sio["count"], sio["expected"])
            print(line, flush=True)

        def spread(values):
            return "%.0f (%.0f-%.0f)" % (statistics.median(values), min(values), max(values))

        print("\n%d subscribers on group B, %.0f publishes/s on group A for %.0f s, %d worker(s) per group, "
              "%s clients, %d runs: median (min-max)" % (args.subscribers, args.rate, args.seconds, args.workers,
                                                         args.client, args.runs))
        print("| | p50 (us) | p99 (us) |\n|---|---|---|")
        print("| wsfast, publish to receipt | %s | %s |" % (spread([o["p50_us"] for o, _ in rows]),
                                                          spread([o["p99_us"] for o, _ in rows])))
        print("| Redis alone, PUBLISH to subscriber | %s | %s |" % (spread([r["p50_us"] for _, r in rows]),
                                                                  spread([r["p99_us"] for _, r in rows])))
        if sio_rows:
            print("| socket.io + @socket.io/redis-adapter, emit to receipt | %s | %s |" % (
                spread([r["p50_us"] for r in sio_rows]), spread([r["p99_us"] for r in sio_rows])))
            print("| delivered: wsfast / socket.io | %s | |" % spread(
                [o["count"] / max(1, r["count"]) for (o, _), r in zip(rows, sio_rows)]))
        print("| wsfast's overhead (same run) | %s | %s |" % (
            spread([o["p50_us"] - r["p50_us"] for o, r in rows]),
            spread([o["p99_us"] - r["p99_us"] for o, r in rows])))
    finally:
        for proc, _ in groups:
            proc.terminate()
            proc.wait(15)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
