"""Server benchmarks: wsfast's epoll server against picows, websockets and
aiohttp (all on uvloop), with a raw-TCP ping-pong floor, in one run.

    python3 benchmarks/bench_server.py [--repeats 3] [--json out.json]
    python3 benchmarks/bench_server.py --stacks wsfast,picows --scenarios burst,handshakes

Every server is its own process (``servers.py``), one process each, on
127.0.0.1, compression off; the client is another process
(``bench_client.py``), the same for every server. Each sample starts a fresh
server, runs one scenario against it, and stops it (SIGTERM, then SIGKILL;
only the processes this script started, by PID).

Scenarios (see ``bench_client.py``):

1. pingpong   -- 256 B binary, one in flight, round trips/s; the raw-TCP
                 floor runs the same loop with 256 raw bytes.
2. burst      -- 10,000 x 1 KiB binary messages sent in large writes, then
                 every echo read; messages/s.
3. idle       -- N handshaken idle connections (default 5,000): server
                 VmRSS growth, KiB per connection.
4. handshakes -- connect + upgrade + read the 101 + close, 4 at a time, for
                 a fixed time; handshakes/s.

Stacks are interleaved within each repeat, and their order rotates between
repeats. Cells are medians over the repeats with min - max; a ratio is
computed per repeat against the reference measured in that repeat, then
the median is taken. "server CPU" is the server process's user + system
time per operation (from /proc), less sensitive to a busy machine than
the rates. A stack that is not installed is shown as skipped; one that fails
shows the error.
"""

import argparse
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402
from servers import HOST, REQUIRES, STACKS  # noqa: E402

SCENARIOS = ("pingpong", "burst", "idle", "handshakes")
TITLES = {
    "pingpong": "Ping-pong (256 B binary, one in flight; round trips/s; ref = raw TCP)",
    "burst": "Burst (10,000 x 1 KiB binary, then every echo; messages/s; ref = picows)",
    "idle": "Idle connections (server RSS growth, KiB per connection; ref = picows)",
    "handshakes": "Handshakes (connect + upgrade + 101 + close, 4 in flight; handshakes/s; ref = picows)",
}
REFERENCE = {"pingpong": "rawtcp", "burst": "picows", "idle": "picows", "handshakes": "picows"}
# (scenario, reference, kind, bound): kind "ratio" = wsfast/ref >= bound,
# "max" = wsfast's value <= bound.
TARGETS = (
    ("pingpong", "rawtcp", "ratio", 0.9, "ping-pong >= 0.9x raw-TCP floor"),
    ("burst", "picows", "ratio", 2.0, "burst >= 2x picows"),
    ("idle", None, "max", 4.0, "idle <= 4 KiB per connection"),
    ("handshakes", "picows", "ratio", 2.0, "handshakes >= 2x picows"),
)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def missing_modules(stack):
    return common.missing_modules(REQUIRES[stack])


def applies(scenario, stack):
    return stack != "rawtcp" or scenario == "pingpong"


class ServerProcess:
    """One echo server subprocess; always stopped by ``stop()``."""

    def __init__(self, stack, env=None, command=None):
        """``command``: run this instead of ``servers.py STACK``; a string
        (split like a shell would, but run without one) or a list, in which
        ``{port}`` stands for the port to listen on."""
        self.stack = stack
        self.port = free_port()
        if command is None:
            argv = [sys.executable, os.path.join(HERE, "servers.py"), stack, "--port", str(self.port)]
        else:
            if isinstance(command, str):
                command = shlex.split(command)
            argv = [a.replace("{port}", str(self.port)) for a in command]
        self.errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.errlog, stderr=subprocess.STDOUT,
            start_new_session=True, env=env)
        self.pid = self.proc.pid

    def log_tail(self, n=400):
        self.errlog.seek(0)
        text = self.errlog.read().decode(errors="replace").strip()
        return text[-n:]

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited (%s): %s" % (self.proc.returncode, self.log_tail()))
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    pass
                time.sleep(0.2)  # let it drop the probe connection
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server not listening after %.0fs" % timeout)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.errlog.close()


def client_command(scenario, stack, server, args):
    cmd = [sys.executable, os.path.join(HERE, "bench_client.py"), scenario,
           "--port", str(server.port), "--server-pid", str(server.pid),
           "--duration", str(args.duration), "--timeout", str(args.timeout)]
    if args.browser_headers:
        cmd.append("--browser-headers")
    if scenario == "pingpong" and stack == "rawtcp":
        cmd.append("--raw")
    if scenario == "burst":
        cmd += ["--messages", str(args.messages), "--bursts", str(args.bursts)]
    if scenario == "idle":
        cmd += ["--conns", str(args.conns), "--settle", str(args.settle)]
    if scenario == "handshakes":
        cmd += ["--concurrency", str(args.concurrency)]
    if scenario == "pingpong-deflate":
        cmd += ["--size", str(getattr(args, "size", 256))]
    if scenario == "many":  # bench_many.py
        cmd += ["--conns", str(args.conns)]
    return cmd


def run_sample(scenario, stack, args, repeat, command=None):
    """One sample: a fresh server (``servers.py STACK``, or ``command``,
    see ``ServerProcess``), one client run, the server stopped."""
    env = None
    if stack == "wsfast" and args.profile_dir:
        env = dict(os.environ, WSFAST_BENCH_PROFILE=os.path.join(
            args.profile_dir, "wsfast-%s-%d.prof" % (scenario, repeat)))
    server = None
    try:
        server = ServerProcess(stack, env, command)
        server.wait_ready()
        cmd = client_command(scenario, stack, server, args)
        limit = args.timeout + args.duration + 30
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=limit)
        except subprocess.TimeoutExpired:
            return {"error": "client timed out after %.0fs" % limit}
        lines = done.stdout.decode(errors="replace").strip().splitlines()
        try:
            result = json.loads(lines[-1])
        except (IndexError, ValueError):
            return {"error": "client failed: %s" % done.stderr.decode(errors="replace")[-400:]}
        if not server.alive():
            result = {"error": "server died: %s" % server.log_tail()}
        elif "error" in result:
            tail = server.log_tail(200)
            if tail:
                result["server_log"] = tail
        return result
    except Exception as exc:  # a stack that cannot start: report, carry on
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    finally:
        if server is not None:
            server.stop()


# -- summarising -------------------------------------------------------------------------


def fmt_num(x, unit=""):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return "{:,.0f}".format(x)
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def spread(values):
    return "%s (%s - %s)" % (fmt_num(statistics.median(values)), fmt_num(min(values)), fmt_num(max(values)))


def summarise(samples, stacks, scenarios, skipped):
    """samples[scenario][stack] = [result per repeat]. Returns (rows, targets)."""
    summary = {}
    for sc in scenarios:
        ref = REFERENCE[sc]
        ref_runs = samples.get(sc, {}).get(ref, [])
        summary[sc] = {}
        for st in stacks:
            if not applies(sc, st):
                continue
            entry = {"samples": samples.get(sc, {}).get(st, [])}
            summary[sc][st] = entry
            if st in skipped:
                entry["status"] = "skipped: " + skipped[st]
                continue
            runs = entry["samples"]
            good = [r for r in runs if "error" not in r]
            bad = [r for r in runs if "error" in r]
            if bad:
                entry["errors"] = [r["error"] for r in bad]
            if not good:
                entry["status"] = "failed: " + (bad[0]["error"] if bad else "no samples")
                continue
            rates = [r["rate"] for r in good]
            entry["median"], entry["min"], entry["max"] = statistics.median(rates), min(rates), max(rates)
            cpus = [r["server_cpu_us"] for r in good if "server_cpu_us" in r]
            if cpus:
                entry["cpu_us"] = statistics.median(cpus)
            own = [r["client_cpu_us"] for r in good if "client_cpu_us" in r]
            if own:
                entry["client_cpu_us"] = statistics.median(own)
            # Ratios per repeat against the reference in the same repeat.
            ratios, cpu_ratios = [], []
            for r, rr in zip(runs, ref_runs):
                if "error" in r or "error" in rr or not rr.get("rate"):
                    continue
                ratios.append(r["rate"] / rr["rate"])
                if r.get("server_cpu_us") and rr.get("server_cpu_us"):
                    cpu_ratios.append(rr["server_cpu_us"] / r["server_cpu_us"])
            if ratios:
                entry["ratio"] = statistics.median(ratios)
                entry["ratio_min"], entry["ratio_max"] = min(ratios), max(ratios)
            if cpu_ratios:
                entry["cpu_ratio"] = statistics.median(cpu_ratios)
            if sc == "idle":
                entry["rss_before_kib"] = statistics.median(r["rss_before_kib"] for r in good)
                entry["rss_after_kib"] = statistics.median(r["rss_after_kib"] for r in good)
    targets = []
    for sc, ref, kind, bound, label in TARGETS:
        w = summary.get(sc, {}).get("wsfast")
        if w is None or "median" not in w:
            targets.append({"target": label, "status": "not measured"})
            continue
        if kind == "max":
            value = w["median"]
            ok = value <= bound
            shown = "%.2f KiB" % value
        else:
            r = summary[sc].get(ref)
            if not r or "median" not in r or "ratio" not in w:
                targets.append({"target": label, "status": "no reference (%s)" % ref})
                continue
            value = w["ratio"]
            ok = value >= bound
            shown = "%.2fx" % value
        targets.append({"target": label, "value": value, "shown": shown,
                        "status": "met" if ok else "missed"})
    return summary, targets


def markdown(summary, targets, scenarios, stacks, args):
    out = []
    for sc in scenarios:
        ref = REFERENCE[sc]
        out.append("#### " + TITLES[sc].replace("4 in flight", "%d in flight" % args.concurrency))
        out.append("")
        if sc == "idle":
            out.append("| Stack | KiB/conn, median (min - max) | RSS before -> after (MiB) | x %s |" % ref)
            out.append("|---|---:|---:|---:|")
        else:
            out.append("| Stack | rate, median (min - max) | x %s | server CPU us/op | CPU/op vs %s |" % (ref, ref))
            out.append("|---|---:|---:|---:|---:|")
        for st in stacks:
            e = summary[sc].get(st)
            if e is None:
                continue
            name = st + (" (ref)" if st == ref else "")
            if "status" in e:
                cols = 3 if sc == "idle" else 4
                out.append("| %s | %s |%s" % (name, e["status"].replace("|", "/")[:160], " |" * (cols - 1)))
                continue
            note = " (%d failed)" % len(e["errors"]) if e.get("errors") else ""
            cell = spread([r["rate"] for r in e["samples"] if "error" not in r]) + note
            ratio = "%.2fx" % e["ratio"] if "ratio" in e and st != ref else ("1" if st == ref else "-")
            if sc == "idle":
                out.append("| %s | %s | %.1f -> %.1f | %s |" % (
                    name, cell, e["rss_before_kib"] / 1024, e["rss_after_kib"] / 1024, ratio))
            else:
                cpu = fmt_num(e.get("cpu_us"))
                cpu_ratio = ("%.2fx" % e["cpu_ratio"] if "cpu_ratio" in e and st != ref
                             else ("1" if st == ref else "-"))
                out.append("| %s | %s | %s | %s | %s |" % (name, cell, ratio, cpu, cpu_ratio))
        out.append("")
    if targets:
        out.append("#### Targets (wsfast)")
        out.append("")
        out.append("| Target | Measured | Status |")
        out.append("|---|---:|---|")
        for t in targets:
            out.append("| %s | %s | %s |" % (t["target"], t.get("shown", "-"), t["status"]))
        out.append("")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stacks", default=",".join(STACKS),
                   help="comma-separated, from %s (default: all)" % ",".join(STACKS))
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help="comma-separated, from %s (default: all)" % ",".join(SCENARIOS))
    p.add_argument("--repeats", type=int, default=3, help="samples per stack and scenario (default 3)")
    p.add_argument("--duration", type=float, default=2.0, help="seconds per ping-pong/handshake sample")
    p.add_argument("--messages", type=int, default=10000, help="messages per burst (default 10,000)")
    p.add_argument("--bursts", type=int, default=3, help="bursts per burst sample (default 3)")
    p.add_argument("--conns", type=int, default=5000, help="idle connections (default 5,000)")
    p.add_argument("--settle", type=float, default=1.0, help="idle: seconds before reading RSS")
    p.add_argument("--concurrency", type=int, default=4, help="handshakes in flight (default 4)")
    p.add_argument("--timeout", type=float, default=120.0, help="per-sample client time limit")
    p.add_argument("--browser-headers", action="store_true",
                   help="upgrade requests carry a browser's usual headers (User-Agent, Origin, "
                        "Accept-*, an extension offer...), not just the 5 required ones")
    p.add_argument("--json", metavar="FILE", help="write every sample and the summary as JSON")
    p.add_argument("--profile-dir", metavar="DIR",
                   help="run wsfast's server under cProfile, stats in DIR (distorts its timings)")
    args = p.parse_args(argv)

    stacks = [s for s in args.stacks.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in stacks:
        if s not in STACKS:
            p.error("unknown stack %r" % s)
    for s in scenarios:
        if s not in SCENARIOS:
            p.error("unknown scenario %r" % s)
    if args.profile_dir:
        os.makedirs(args.profile_dir, exist_ok=True)
    skipped = {}
    for st in stacks:
        miss = missing_modules(st)
        if miss:
            skipped[st] = "not installed (%s)" % ", ".join(miss)
            log("skipping %s: %s" % (st, skipped[st]))

    samples = {sc: {st: [] for st in stacks} for sc in scenarios}
    started = time.time()
    for rep in range(args.repeats):
        k = rep % len(stacks)
        order = stacks[k:] + stacks[:k]
        for sc in scenarios:
            for st in order:
                if not applies(sc, st) or st in skipped:
                    continue
                t = time.time()
                result = run_sample(sc, st, args, rep)
                samples[sc][st].append(result)
                shown = result.get("error") or "%s %s" % (fmt_num(result["rate"]), result["unit"])
                log("[%d/%d] %-10s %-10s %s  (%.1fs)" % (rep + 1, args.repeats, sc, st, shown,
                                                        time.time() - t))

    summary, targets = summarise(samples, stacks, scenarios, skipped)
    table = markdown(summary, targets, scenarios, stacks, args)
    if args.profile_dir:
        table = ("**wsfast ran under cProfile (--profile-dir): its figures are not "
                 "comparable.**\n\n" + table)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv[1:], "python": platform.python_version(),
                       "cpus": os.cpu_count(), "seconds": time.time() - started,
                       "summary": summary, "targets": targets}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
