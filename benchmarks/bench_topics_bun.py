"""Many topics: wsfast's ``ws.subscribe``/``server.publish`` against Bun's
(uWebSockets), one server process each, in one run.

    python benchmarks/bench_topics_bun.py --bun PATH/TO/bun.exe \\
        [--conns 2000] [--topics 10000] [--per-topic 10] [--publishes 30000] \\
        [--rate 0] [--runs 3]

``--topics`` topics with ``--per-topic`` subscribers each, held by
``--conns`` connections (``topic_plan.py``: each connection holds
topics x per-topic / conns distinct topics, drawn at random with a fixed
seed) in ``--procs`` client processes (``topics_client.py``). One more
connection, in this process, publishes: each 64 B binary message names
its topic in its first 4 bytes and the server publishes it there
(``topics_server.py``, ``bun_topics_server.js``); publish k goes to
topic k x 7919 mod topics, so every topic gets its share. ``--rate 0``
writes all the publishes at once, as fast as the connection takes them
(the server's pace sets the rate); ``--rate R`` sends R publishes a
second, in 1 ms ticks. A warm-up phase (``--warmup`` publishes) comes
first and is not counted.

Per sample: delivered messages per second (every subscriber's copy
counts; from the first publish written to the last message received, on
the machine-wide monotonic clock), and the server's CPU time per
delivered message (from /proc, all its threads). Each client checks
that it got exactly the messages of its topics. The stacks alternate
within each run (their order rotating), and every sample starts fresh
processes; the table gives medians with min-max, and each stack's CPU
per message over wsfast's in the same run. ``--step-frames N [N ...]``
adds ``wsfast-steps-N``: the same server with ``max_step_frames=N``
(frames of one read handled per loop pass; the default is
``wsfast.server.limits.MAX_STEP_FRAMES``). Bun comes from the npm package ``bun`` (its binary is
node_modules/bun/bin/bun.exe after ``npm install bun`` in any directory).
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import wsfast  # noqa: E402

from bench_broadcast import ClientProcs  # noqa: E402
from bench_client import server_cpu, ws_connect  # noqa: E402
from bench_server import ServerProcess  # noqa: E402
from common import environment  # noqa: E402
from topic_plan import SIZE, assignment, topic_of_publish  # noqa: E402

TICK = 0.001  # seconds between paced writes (--rate)


def publish_frames(first, count, topics):
    """Masked client frames of publishes first .. first+count-1, all the same length."""
    encode = wsfast.FrameEncoder(client=True).encode
    frames = [encode(wsfast.OP_BINARY, topic_of_publish(k, topics).to_bytes(4, "big")
                     + k.to_bytes(4, "big") + bytes(SIZE - 8)) for k in range(first, first + count)]
    return b"".join(frames), len(frames[0])


def write_publishes(sock, blob, frame_size, rate, deadline):
    """All at once (rate 0), or ``rate`` frames a second in TICK steps."""
    if not rate:
        sock.sendall(blob)
        return
    count = len(blob) // frame_size
    t0 = time.monotonic()
    sent = 0
    while sent < count:
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError("time limit while publishing (%d of %d sent)" % (sent, count))
        due = min(count, int((now - t0) * rate) + 1)
        if due > sent:
            sock.sendall(blob[sent * frame_size:due * frame_size])
            sent = due
        time.sleep(TICK)


def run_sample(name, command, args):
    """One sample against a fresh server; a dict (``error`` on failure)."""
    procs = max(1, min(args.procs, args.conns))
    sizes = [args.conns // procs + (1 if i < args.conns % procs else 0) for i in range(procs)]
    starts = [sum(sizes[:i]) for i in range(procs)]
    phases = "%d,%d" % (args.warmup, args.publishes)
    server = clients = sock = None
    deadline = time.monotonic() + args.timeout
    try:
        server = ServerProcess(name, command=command)
        server.wait_ready()

        def argv(i, k):
            return [sys.executable, os.path.join(HERE, "topics_client.py"), "--port", str(server.port),
                    "--first", str(starts[i]), "--count", str(k), "--conns", str(args.conns),
                    "--topics", str(args.topics), "--per-topic", str(args.per_topic),
                    "--publishes", phases, "--poll-interval", str(args.poll_interval),
                    "--timeout", str(args.timeout)]

        clients = ClientProcs(server.port, sizes, 0, args.timeout, argv=argv)
        ready = clients.next_line_from_each(deadline, "the clients' subscriptions")
        if sum(r["ready"] for r in ready) != args.conns:
            raise RuntimeError("clients opened %d of %d connections" % (sum(r["ready"] for r in ready), args.conns))
        time.sleep(0.3)
        sock, rest = ws_connect(server.port, timeout=30.0, check_accept=True)
        if rest:
            raise RuntimeError("unexpected bytes after the publisher's handshake")
        out = {}
        first = 0
        for phase, count in (("warmup", args.warmup), ("measured", args.publishes)):
            blob, frame_size = publish_frames(first, count, args.topics)
            first += count
            cpu0 = server_cpu(server.pid)
            t0 = time.monotonic_ns()
            write_publishes(sock, blob, frame_size, args.rate, deadline)
            t_written = time.monotonic_ns()
            reports = clients.next_line_from_each(deadline, "the %s publishes" % phase)
            cpu = server_cpu(server.pid) - cpu0
            delivered = sum(r["received"] for r in reports)
            if delivered != count * args.per_topic:
                raise RuntimeError("%d of %d messages delivered" % (delivered, count * args.per_topic))
            seconds = (max(r["last_ns"] for r in reports) - t0) / 1e9
            out[phase] = {"publishes": count, "delivered": delivered, "seconds": seconds,
                          "write_seconds": (t_written - t0) / 1e9,
                          "delivered_per_s": delivered / seconds,
                          "server_cpu_s": cpu, "server_cpu_us_per_msg": cpu / delivered * 1e6}
        if not server.alive():
            raise RuntimeError("server died: %s" % server.log_tail())
        return out["measured"]
    except Exception as exc:  # reported as this stack's failure, never dropped
        out = {"error": "%s: %s" % (type(exc).__name__, exc)}
        if server is not None and not server.alive():
            out["server_log"] = server.log_tail(300)
        return out
    finally:
        if sock is not None:
            sock.close()
        if clients is not None:
            clients.stop()
        if server is not None:
            server.stop()


def spread(values, fmt):
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(values), min(values), max(values))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bun", help="the bun binary (without it, wsfast alone)")
    parser.add_argument("--conns", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=10000)
    parser.add_argument("--per-topic", type=int, default=10)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--publishes", type=int, default=30000, help="counted publishes per sample")
    parser.add_argument("--warmup", type=int, default=10000, help="uncounted publishes first")
    parser.add_argument("--rate", type=float, default=0.0, help="publishes/s; 0: as fast as they are taken")
    parser.add_argument("--poll-interval", type=float, default=0.001,
                        help="clients pause this long (s) after each batch of events")
    parser.add_argument("--step-frames", type=int, nargs="*", default=[],
                        help="add wsfast-steps-N for each N: max_step_frames=N (frames of one read "
                             "handled per loop pass)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per sample, at most")
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args(argv)
    assignment(args.conns, args.topics, args.per_topic)  # a bad plan fails here, not in a client
    commands = {"wsfast": [sys.executable, os.path.join(HERE, "topics_server.py"), "{port}"]}
    for n in args.step_frames:
        commands["wsfast-steps-%d" % n] = commands["wsfast"] + ["--step-frames", str(n)]
    if args.bun:
        commands["bun"] = [args.bun, os.path.join(HERE, "bun_topics_server.js"), "{port}"]
    samples = {name: [] for name in commands}
    ratios = {name: [] for name in commands if name != "wsfast"}  # CPU per message / wsfast's, per run
    for run in range(args.runs):
        order = list(commands)[run % len(commands):] + list(commands)[:run % len(commands)]
        got = {}
        for name in order:
            result = run_sample(name, commands[name], args)
            if "error" in result:
                print("run %d %s failed: %s" % (run + 1, name, json.dumps(result)), flush=True)
                return 1
            got[name] = result
            samples[name].append(result)
        for name in ratios:
            ratios[name].append(got[name]["server_cpu_us_per_msg"] / got["wsfast"]["server_cpu_us_per_msg"])
        print("run %d: " % (run + 1) + "; ".join(
            "%s %.0f msg/s, %.2f us CPU/msg" % (n, got[n]["delivered_per_s"], got[n]["server_cpu_us_per_msg"])
            for n in commands), flush=True)

    each = args.topics * args.per_topic // args.conns
    print("\n%d topics x %d subscribers on %d connections (%d topics each), %d client processes; "
          "%d publishes of %d B per sample (%s), after %d uncounted; %d runs: median (min-max)"
          % (args.topics, args.per_topic, args.conns, each, args.procs, args.publishes, SIZE,
             "%g/s" % args.rate if args.rate else "as fast as taken", args.warmup, args.runs))
    print("| server | delivered messages/s | server CPU per delivered message (us) | CPU per message / "
          "wsfast's, same run |\n|---|---|---|---|")
    for name in commands:
        print("| %s | %s | %s | %s |" % (
            name, spread([s["delivered_per_s"] for s in samples[name]], "%.0f"),
            spread([s["server_cpu_us_per_msg"] for s in samples[name]], "%.2f"),
            spread(ratios[name], "%.2f") if name in ratios else "1"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "environment": environment(()), "samples": samples,
                       "cpu_per_message_over_wsfast": ratios}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
