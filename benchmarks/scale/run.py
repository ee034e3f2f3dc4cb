"""The 100,000-connection scale scenario (issue #5).

    python -m benchmarks.scale                      # everything, 100k connections
    python -m benchmarks.scale --quick              # 2,000-connection smoke run
    python -m benchmarks.scale --phases connect,broadcast,slow --connections 100000
    python -m benchmarks.scale --phases peers --peers wsfast,websockets,picows
    python -m benchmarks.scale --phases churn --churn 1000000 --churn-time 600

Phases:

- ``connect``: a server of ``--workers`` processes sharing the port
  (SO_REUSEPORT) and ``--client-procs`` client processes, each from its
  own loopback source addresses, open ``--connections`` connections in
  steps of 10,000. Reports the workers' RSS growth per connection (sum of
  /proc RSS minus the sum before any connection) and the setup time.
- ``broadcast``: a 64 B message to every connection, triggered in every
  worker at one agreed CLOCK_MONOTONIC instant; latency = receive time
  minus that instant. Repeated ``--repeat`` times. While waiting, clients
  pause ``--poll-interval`` (1 ms) after each batch of events, so that on
  one machine their wakeups do not run inside the server's send().
- ``publish`` (wsfast): every connection subscribes to one topic when it
  opens; one worker publishes a 64 B message to it (``server.publish``:
  the other workers get it over the workers' bus), and the same message
  is broadcast as above, alternating, ``--repeat`` times each, so that
  the two figures come from the same run. ``--publish-variants`` adds
  ``publish-early`` (the bus is flushed before the local writes).
- ``slow``: ``--slow-fraction`` of the clients stop reading; a pressure
  stream aimed at them pushes them over the water marks; then the 64 B
  broadcast again (policy ``slow="skip"``), then a ``slow="queue"`` stream
  until ``max_buffered`` drops them.
- ``peers``: connect + ``--repeat`` broadcasts for each stack (wsfast
  too, for a side-by-side), stepping up through 10k, 25k, 50k, 100k
  connections until one fails or time runs out.
- ``churn``: ``--churn`` connect/handshake/close cycles in batches of
  ``--batch``, bounded by ``--churn-time`` seconds; RSS and descriptors of
  every worker before, after the first 100,000, and at the end.
"""

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    __package__ = "benchmarks.scale"

from benchmarks import common  # noqa: E402
from benchmarks.scale import procs  # noqa: E402
from benchmarks.scale.scenario import Harness, procs_for  # noqa: E402
from benchmarks.scale.stats import kib, mib, ms  # noqa: E402

PHASES = ("connect", "broadcast", "publish", "slow", "peers", "churn")
TOPIC = "all"  # the publish phase's topic
PEER_STEPS = (10_000, 25_000, 50_000, 100_000)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# -- phases ------------------------------------------------------------------------------


def run_main(opts, report):
    """connect, broadcast, slow readers: one server, one set of clients."""
    slow_every = round(1 / opts.slow_fraction) if opts.slow_fraction else 0
    workers = opts.workers or procs_for(opts.connections)
    clients = opts.client_procs or procs_for(opts.connections)
    out = report["main"] = {"stack": opts.stack, "connections": opts.connections, "workers": workers,
                            "client_procs": clients, "slow_every": slow_every}
    with Harness(opts.stack, workers, clients, slow_every=slow_every, high_water=opts.high_water,
                 low_water=opts.low_water, max_buffered=opts.max_buffered,
                 poll_interval=opts.poll_interval, topic=TOPIC if "publish" in opts.phases else None,
                 log=log) as h:
        base = h.start_server()
        h.start_clients()
        log("%s: %d workers %s, %d client processes; baseline RSS %s" % (
            opts.stack, workers, h.pids, clients, mib(base["rss_total"])))
        conn = h.connect(opts.connections, step=opts.step)
        time.sleep(2.0)
        snap = h.snapshot()
        st = h.worker_stats()
        n = st["clients"]
        conn.update(server_clients=n, per_worker=st["per_worker_clients"],
                    rss_baseline=base["rss_total"], rss_after=snap["rss_total"],
                    per_connection=(snap["rss_total"] - base["rss_total"]) / n if n else None,
                    fds=snap["fds"], server_cpu=snap["cpu"] - base["cpu"], client_cpu=snap["client_cpu"])
        out["connect"] = conn
        log("connected %d (server sees %d, per worker %s) in %.1fs; RSS +%s = %s per connection" % (
            sum(s["opened"] for s in conn["steps"]), n, st["per_worker_clients"], conn["seconds"],
            mib(snap["rss_total"] - base["rss_total"]), kib(conn["per_connection"])))
        if n == 0:
            return
        if "broadcast" in opts.phases:
            runs = out["broadcast"] = []
            for i in range(opts.repeat):
                r = h.broadcast(100 + i, timeout=opts.broadcast_timeout)
                runs.append(r)
                log("broadcast %d: %d/%d received; p50 %s p99 %s max %s (reached %d/%d)" % (
                    i, r["received"], r["readers"], ms(r["latency"]["p50"]), ms(r["latency"]["p99"]),
                    ms(r["latency"]["max"]), r["reached"], r["eligible"]))
                time.sleep(0.5)
        if "publish" in opts.phases:
            out["publish"] = run_publish(h, opts)
        if "slow" in opts.phases and slow_every:
            out["slow"] = run_slow(h, opts)


def run_publish(h, opts):
    """Publish to the topic everyone holds, against broadcast, alternating."""
    variants = ["broadcast"] + opts.publish_variants
    runs = {v: [] for v in variants}
    for i in range(opts.repeat):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        for j, via in enumerate(order):
            r = h.broadcast(400 + 10 * i + j, timeout=opts.broadcast_timeout, via=via)
            runs[via].append(r)
            log("%s %d: %d/%d received; p50 %s p99 %s max %s; workers' CPU %.2f+%.2f s" % (
                via, i, r["received"], r["readers"], ms(r["latency"]["p50"]), ms(r["latency"]["p99"]),
                ms(r["latency"]["max"]), r["server_cpu"]["user"], r["server_cpu"]["system"]))
            time.sleep(0.5)
    return runs


def run_slow(h, opts):
    out = {}
    before = h.snapshot()
    st = h.tell({"cmd": "stall"}, 30.0)
    out["stalled"] = sum(a["stalled"] for a in st if a)
    log("slow: %d clients stopped reading" % out["stalled"])
    time.sleep(0.5)
    # 1. a stream the slow clients cannot keep up with, slow="skip"
    skip_rounds = math.ceil((opts.high_water + 64 * 1024) / opts.pressure_size) + 4
    p1 = h.pressure(opts.pressure_size, skip_rounds, "skip")
    s1 = h.snapshot()
    out["pressure_skip"] = dict(p1, rss_total=s1["rss_total"])
    log("slow: skip stream, %d rounds of %d B: %d offered, %d skipped; slow clients buffer %s in all, "
        "%s at most; RSS %s" % (p1["rounds"], opts.pressure_size, p1["offered"], p1["skipped"],
                                mib(p1["slow_buffered"]), kib(p1["slow_buffered_max"]), mib(s1["rss_total"])))
    # 2. the measured 64 B broadcast to everybody while they are stuck and
    # the stream aimed at them goes on (one round every 50 ms for 1.5 s)
    runs = out["broadcast"] = []
    streams = out["stream_during"] = []
    for i in range(opts.repeat):
        seq = h.pressure(opts.pressure_size, 30, "skip", interval=0.05, wait=False)
        r = h.broadcast(200 + i, timeout=opts.broadcast_timeout)
        runs.append(r)
        streams.append(h.pressure_result(seq))
        log("slow broadcast %d: readers %d/%d; p50 %s p99 %s max %s; reached %d of %d (skipped %d); "
            "stream meanwhile: %d offered, %d skipped" % (
                i, r["received"], r["readers"], ms(r["latency"]["p50"]), ms(r["latency"]["p99"]),
                ms(r["latency"]["max"]), r["reached"], r["eligible"], r["eligible"] - r["reached"],
                streams[-1]["offered"], streams[-1]["skipped"]))
    s2 = h.snapshot()
    out["rss_during"] = s2["rss_total"]
    # 3. slow="queue": buffered until max_buffered, then dropped
    queue_rounds = math.ceil(opts.max_buffered / opts.pressure_size) + 8
    p2 = h.pressure(opts.pressure_size, queue_rounds, "queue")
    s3 = h.snapshot()
    out["pressure_queue"] = dict(p2, rss_total=s3["rss_total"])
    st = h.worker_stats()
    out["dropped"] = st["dropped"]
    out["rss_before"] = before["rss_total"]
    out["rss_after_queue"] = s3["rss_total"]
    log("slow: queue stream, %d rounds: %d clients dropped by max_buffered; RSS %s" % (
        p2["rounds"], st["dropped"], mib(s3["rss_total"])))
    h.tell({"cmd": "unstall"}, 30.0)
    return out


def run_peers(opts, report):
    out = report["peers"] = {}
    for stack in opts.peers:
        steps = [s for s in opts.peer_steps if s <= opts.connections] or [opts.connections]
        top = steps[-1]
        workers = opts.workers or procs_for(top)
        clients = opts.client_procs or procs_for(top)
        res = out[stack] = {"workers": workers, "client_procs": clients, "steps": [], "failure": None}
        t_start = time.monotonic()
        try:
            with Harness(stack, workers, clients, poll_interval=opts.poll_interval, log=log) as h:
                base = h.start_server()
                h.start_clients()
                have = 0
                for target in steps:
                    if time.monotonic() - t_start > opts.peer_time:
                        res["failure"] = "time limit (%ds) reached before %d" % (opts.peer_time, target)
                        break
                    log("%s: stepping up to %d" % (stack, target))
                    c = h.connect(target - have, step=opts.step, step_timeout=opts.peer_step_timeout)
                    time.sleep(2.0)
                    snap = h.snapshot()
                    st = h.worker_stats()
                    have = st["clients"]
                    row = {"target": target, "server_clients": have, "connect_seconds": c["seconds"],
                           "failed": c["failed"], "errors": c["errors"],
                           "per_connection": (snap["rss_total"] - base["rss_total"]) / have if have else None,
                           "rss_total": snap["rss_total"]}
                    res["steps"].append(row)
                    if c["dead"] or have < target * 0.99:
                        res["failure"] = "at %d: %d connected; %s%s" % (
                            target, have, c["errors"] or "", "; " + "; ".join(c["dead"]) if c["dead"] else "")
                        break
                    runs = row["broadcasts"] = []
                    for i in range(max(1, opts.repeat)):
                        r = h.broadcast(300 + 10 * (target // 1000) + i, timeout=opts.broadcast_timeout)
                        runs.append(r)
                        log("%s at %d: connect %.1fs, %s/conn; broadcast %d/%d, p50 %s p99 %s max %s" % (
                            stack, have, c["seconds"], kib(row["per_connection"]), r["received"], r["readers"],
                            ms(r["latency"]["p50"]), ms(r["latency"]["p99"]), ms(r["latency"]["max"])))
                        if r["missing"]:
                            break
                    # The median run by time-to-all (an incomplete run counts as slowest).
                    row["broadcast"] = r = sorted(runs, key=lambda x: (x["missing"], x["latency"]["max"] or 0))[
                        len(runs) // 2]
                    if r["missing"]:
                        res["failure"] = "at %d: broadcast reached %d of %d readers within %ds" % (
                            target, r["received"], r["readers"], opts.broadcast_timeout)
                        break
        except Exception as exc:  # a peer that cannot run is a failure, shown
            res["failure"] = "%s: %s" % (type(exc).__name__, exc)
        log("%s: %s" % (stack, res["failure"] or "sustained %d" % steps[-1]))


def run_churn(opts, report):
    workers = opts.workers or procs_for(opts.connections)
    clients = opts.client_procs or procs_for(opts.connections)
    with Harness(opts.stack, workers, clients, sources_per_client=opts.churn_sources, log=log) as h:
        base = h.start_server()
        h.start_clients()
        res = h.churn(opts.churn, opts.batch, concurrency=opts.churn_concurrency, time_limit=opts.churn_time,
                      reference_at=opts.churn_reference)
        res["baseline"] = base
        report["churn"] = res
        ref, fin = res["reference"], res["final"]
        log("churn: %d cycles in %.0fs (%.0f/s); RSS base %s, after %s cycles %s, end %s; fds %s -> %s" % (
            res["done"], res["seconds"], res["rate"], mib(base["rss_total"]),
            ref and ref["done"], mib(ref and ref["rss_total"]), mib(fin["rss_total"]),
            sorted(base["fds"].values()), sorted(fin["fds"].values())))


# -- report --------------------------------------------------------------------------------------


def markdown(report):
    lines = []
    env = report["env"]
    lines.append("Machine: %s, %d cores (%d usable), kernel %s, %s, wsfast %s; "
                 "load average at start %s" % (env["cpu"], env["cores"], env["usable_cores"], env["kernel"],
                                               env["python"], env["wsfast"], env["loadavg_at_start"]))
    main = report.get("main")
    if main and "connect" in main:
        c = main["connect"]
        lines += ["", "### Connect (%s, %d workers, %d client processes)" % (
            main["stack"], main["workers"], main["client_procs"]), "",
            "| connections | setup total | per 10k (min / median / max) | server RSS growth | per connection |",
            "|---|---|---|---|---|"]
        per10k = sorted(s["seconds"] * 10_000 / s["n"] for s in c["steps"])
        lines.append("| %d | %.1f s | %.2f / %.2f / %.2f s | %s | %s |" % (
            c["server_clients"], c["seconds"], per10k[0], per10k[len(per10k) // 2], per10k[-1],
            mib(c["rss_after"] - c["rss_baseline"]), kib(c["per_connection"])))
    for key, title in (("broadcast", "Broadcast, 64 B, all clients reading"),):
        runs = (main or {}).get(key)
        if runs:
            lines += ["", "### " + title, ""] + broadcast_table(runs)
            lines += ["", "Clients pause %g ms after each batch of events (`--poll-interval`)." % (
                1000 * report["options"]["poll_interval"])]
    pub = (main or {}).get("publish")
    if pub:
        lines += publish_report(pub)
    slow = (main or {}).get("slow")
    if slow:
        lines += ["", "### Slow readers (%d stalled)" % slow["stalled"], ""] + broadcast_table(slow["broadcast"])
        lines += ["", "- stream to the slow clients during each broadcast: %s offered, %s skipped" % (
            " / ".join(str(x["offered"]) for x in slow["stream_during"]),
            " / ".join(str(x["skipped"]) for x in slow["stream_during"]))]
        ps, pq = slow["pressure_skip"], slow["pressure_queue"]
        lines += ["",
                  "- skip stream: %d rounds, %d offered, %d skipped; slow clients' unsent output %s total, "
                  "%s max per client" % (ps["rounds"], ps["offered"], ps["skipped"], mib(ps["slow_buffered"]),
                                         kib(ps["slow_buffered_max"])),
                  "- server RSS: %s before, %s after the skip stream, %s during the broadcasts, %s after the "
                  "queue stream" % (mib(slow["rss_before"]), mib(ps["rss_total"]), mib(slow["rss_during"]),
                                    mib(slow["rss_after_queue"])),
                  "- queue stream: %d rounds; %d clients dropped (max_buffered)" % (pq["rounds"], slow["dropped"])]
    peers = report.get("peers")
    if peers:
        lines += ["", "### Peers", "",
                  "Broadcast columns: the median run by time-to-all; \"max, each run\" lists every run.", "",
                  "| stack | connections | connect (this step) | RSS/conn | p50 | p99 | max | max, each run "
                  "| received | server CPU user+sys |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for stack, res in peers.items():
            for row in res["steps"]:
                b = row.get("broadcast") or {"latency": {}, "received": 0, "readers": 0}
                each = " / ".join(ms(x["latency"].get("max")) for x in row.get("broadcasts", ()))
                lines.append("| %s | %d | %.1f s | %s | %s | %s | %s | %s | %d/%d | %s |" % (
                    stack, row["server_clients"], row["connect_seconds"], kib(row["per_connection"]),
                    ms(b["latency"].get("p50")), ms(b["latency"].get("p99")), ms(b["latency"].get("max")),
                    each or "-", b["received"], b["readers"], cpu(b.get("server_cpu"))))
        for stack, res in peers.items():
            lines.append("")
            lines.append("- %s: %s" % (stack, res["failure"] or "sustained every step"))
    churn = report.get("churn")
    if churn:
        b, r, f = churn["baseline"], churn["reference"], churn["final"]
        lines += ["", "### Churn", "",
                  "- %d connect+close cycles in %.0f s (%.0f/s), %d failed" % (
                      churn["done"], churn["seconds"], churn["rate"], churn["failed"]),
                  "- RSS: %s at start, %s after %s cycles, %s at the end (%+.1f%%)" % (
                      mib(b["rss_total"]), mib(r and r["rss_total"]), r and r["done"], mib(f["rss_total"]),
                      100.0 * (f["rss_total"] - r["rss_total"]) / r["rss_total"] if r else float("nan")),
                  "- descriptors per worker: %s at start, %s at the end" % (
                      sorted(b["fds"].values()), sorted(f["fds"].values()))]
    return "\n".join(lines)


def publish_report(pub):
    """Each variant's runs, then medians and ratios to broadcast of the same run."""
    lines = []
    for via, runs in pub.items():
        lines += ["", "### %s: 64 B to every client (all subscribe to one topic)" % via, ""] + broadcast_table(runs)
    base = pub["broadcast"]

    def cpu_total(r):
        return r["server_cpu"]["user"] + r["server_cpu"]["system"]

    lines += ["", "| | max (all delivered), median (min-max) | x broadcast, per repeat | workers' CPU "
              "user+sys, median | x broadcast |", "|---|---|---|---|---|"]
    for via, runs in pub.items():
        done = [r for r in runs if not r["missing"]]
        if not done:
            lines.append("| %s | incomplete | | | |" % via)
            continue
        t = sorted(r["latency"]["max"] for r in done)
        c = sorted(cpu_total(r) for r in runs)
        ratio_t = sorted(r["latency"]["max"] / b["latency"]["max"] for r, b in zip(runs, base)
                         if not r["missing"] and not b["missing"])
        ratio_c = sorted(cpu_total(r) / cpu_total(b) for r, b in zip(runs, base) if cpu_total(b))
        lines.append("| %s | %s (%s-%s) | %s | %.2f s | %s |" % (
            via, ms(median(t)), ms(t[0]), ms(t[-1]),
            "%.2f (%.2f-%.2f)" % (median(ratio_t), ratio_t[0], ratio_t[-1]) if ratio_t else "-",
            median(c), "%.2f (%.2f-%.2f)" % (median(ratio_c), ratio_c[0], ratio_c[-1]) if ratio_c else "-"))
    return lines


def median(sorted_values):
    n = len(sorted_values)
    return (sorted_values[n // 2] + sorted_values[(n - 1) // 2]) / 2


def broadcast_table(runs):
    rows = ["| run | received | p50 | p99 | max (all delivered) | reached / eligible | worker late max "
            "| server CPU user+sys | clients CPU user+sys |",
            "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(runs):
        rows.append("| %d | %d/%d | %s | %s | %s | %d/%d | %s | %s | %s |" % (
            i + 1, r["received"], r["readers"], ms(r["latency"]["p50"]), ms(r["latency"]["p99"]),
            ms(r["latency"]["max"]), r["reached"], r["eligible"], ms(r["worker_late_max"]),
            cpu(r.get("server_cpu")), cpu(r.get("client_cpu"))))
    return rows


def cpu(split):
    return "-" if not split else "%.2f+%.2f s" % (split["user"], split["system"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=0, help="server processes (default: 1 per 17,000)")
    p.add_argument("--client-procs", type=int, default=0, help="client processes (default: 1 per 17,000)")
    p.add_argument("--stack", default="wsfast", choices=("wsfast", "websockets", "picows"),
                   help="stack for the connect/broadcast/slow/churn phases")
    p.add_argument("--peers", default="wsfast,websockets,picows",
                   help="stacks for the peers phase (wsfast included for a side-by-side run)")
    p.add_argument("--peer-steps", default=",".join(map(str, PEER_STEPS)))
    p.add_argument("--peer-time", type=float, default=900.0, help="seconds per peer, at most")
    p.add_argument("--peer-step-timeout", type=float, default=240.0)
    p.add_argument("--phases", default=",".join(PHASES))
    p.add_argument("--step", type=int, default=10_000, help="connections per connect step")
    p.add_argument("--repeat", type=int, default=3, help="broadcasts per measurement")
    p.add_argument("--broadcast-timeout", type=float, default=15.0)
    p.add_argument("--poll-interval", type=float, default=0.001,
                   help="clients pause this long (s) after each batch of events while expecting a "
                        "broadcast; 0 = wake for every event")
    p.add_argument("--publish-variants", default="publish",
                   help="for the publish phase, comma-separated: publish, publish-early")
    p.add_argument("--slow-fraction", type=float, default=0.1)
    p.add_argument("--pressure-size", type=int, default=16 * 1024)
    p.add_argument("--high-water", type=int, default=64 * 1024)
    p.add_argument("--low-water", type=int, default=16 * 1024)
    p.add_argument("--max-buffered", type=int, default=1024 * 1024)
    p.add_argument("--churn", type=int, default=1_000_000, help="connect+close cycles")
    p.add_argument("--batch", type=int, default=10_000, help="churn cycles per batch")
    p.add_argument("--churn-time", type=float, default=600.0, help="seconds for the churn phase, at most")
    p.add_argument("--churn-reference", type=int, default=100_000)
    p.add_argument("--churn-concurrency", type=int, default=128, help="cycles in flight per client")
    p.add_argument("--churn-sources", type=int, default=16, help="source addresses per client process")
    p.add_argument("--quick", action="store_true", help="2,000-connection smoke run")
    p.add_argument("--json", help="write every number here")
    opts = p.parse_args(argv)
    if opts.quick:
        opts.connections, opts.step, opts.churn, opts.batch = 2000, 500, 20_000, 2000
        opts.churn_reference, opts.peer_steps, opts.churn_time = 4000, "1000,2000", 120.0
        opts.workers = opts.workers or 2
        opts.client_procs = opts.client_procs or 2
    opts.phases = [x for x in opts.phases.split(",") if x]
    opts.peers = [x for x in opts.peers.split(",") if x and x != "none"]
    opts.publish_variants = [x for x in opts.publish_variants.split(",") if x]
    if "publish" in opts.phases and opts.stack != "wsfast":
        log("the publish phase needs --stack wsfast: left out")
        opts.phases.remove("publish")
    for v in opts.publish_variants:
        if v not in ("publish", "publish-early"):
            p.error("unknown publish variant %r" % v)
    opts.peer_steps = [int(x) for x in opts.peer_steps.split(",")]
    for ph in opts.phases:
        if ph not in PHASES:
            p.error("unknown phase %r" % ph)
    procs.raise_nofile()
    report = {"env": common.environment(("websockets", "picows")), "argv": sys.argv[1:], "started": time.time(),
              "options": {"poll_interval": opts.poll_interval}}
    try:
        if {"connect", "broadcast", "publish", "slow"} & set(opts.phases):
            run_main(opts, report)
        if "peers" in opts.phases:
            run_peers(opts, report)
        if "churn" in opts.phases:
            run_churn(opts, report)
    finally:
        if opts.json:
            with open(opts.json, "w") as f:
                json.dump(report, f, indent=1, default=str)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
