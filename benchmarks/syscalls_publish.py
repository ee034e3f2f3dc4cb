"""Where a publish's server CPU goes: system calls per publish (strace)
and a CPU profile (perf), for wsfast's and Bun's ``server.publish``.

    python benchmarks/syscalls_publish.py [--bun PATH/TO/bun.exe] [--conns 5000] [--publishes 10]
    python benchmarks/syscalls_publish.py --tool perf [--bun ...] [--publishes 60]

The scenario is bench_publish_bun.py's (the same servers, clients and
trigger connection; 64 B binary messages to one topic that every client
holds). ``--tool strace`` runs each server under ``strace -c -f`` twice,
with K and 3K publishes, and prints, per syscall, (calls(3K) - calls(K))
/ 2K: the calls per publish with start-up, handshakes and shutdown
cancelled out, and the same per subscriber. ``--tool perf`` runs each
server once under ``perf record -e cpu-clock -g`` and prints the shares
of its samples by object (kernel, interpreter, extension modules) and its
top symbols; handshakes are in that profile too, so use enough publishes
for them to be a small part. Needs strace or perf. Loopback only; every
process is started here and stopped by PID.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bench_broadcast import run_sample  # noqa: E402

# "% time  seconds  usecs/call  calls  [errors]  syscall"
SETTLE = 1.0  # seconds between the clients' end and the server's
STRACE_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$")


def wrapped(tool_argv, command):
    """The server ``command`` under a tool, through this script's ``--wrap``
    mode (see ``wrap``), so that stopping it lets the tool write its report."""
    return [sys.executable, os.path.abspath(__file__), "--wrap", "--"] + tool_argv + ["--"] + command


def wrap(argv):
    """Run ``argv`` (a tool that runs the server as its child) and, on
    SIGTERM, stop the tool's children (the server) so that the tool sees
    its workload exit, writes its report and exits. Neither strace nor
    perf passes a SIGTERM of their own on to the workload."""
    tool = subprocess.Popen(argv)

    def stop(_signum, _frame):
        # The clients were stopped just before: let the server see their
        # connections end, so that both runs of a pair end alike.
        time.sleep(SETTLE)
        try:
            with open("/proc/%d/task/%d/children" % (tool.pid, tool.pid)) as f:
                children = [int(x) for x in f.read().split()]
        except OSError:
            children = []
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    try:
        return tool.wait(timeout=3600)
    except subprocess.TimeoutExpired:
        tool.kill()
        return tool.wait()


def server_commands(bun):
    commands = {"wsfast": [sys.executable, os.path.join(HERE, "publish_server.py"), "{port}"]}
    if bun:
        commands["bun"] = [bun, os.path.join(HERE, "bun_publish_server.js"), "{port}"]
    return commands


def strace_counts(name, command, args, publishes, workdir):
    """{syscall: calls} of one server run with ``publishes`` publishes."""
    out = os.path.join(workdir, "%s.%d" % (name, publishes))
    result = run_sample(name, args.conns, args.procs, publishes, timeout=args.timeout,
                        command=wrapped(["strace", "-c", "-f", "-o", out], command))
    if "error" in result:
        raise SystemExit("%s under strace, %d publishes: %s" % (name, publishes, result["error"]))
    return strace_summary(out)


def strace_summary(path):
    """{syscall: calls} from the summary ``strace -c -o path`` wrote."""
    calls = {}
    with open(path) as f:
        for line in f:
            m = STRACE_ROW.match(line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    if not calls:
        raise SystemExit("no strace summary in %s" % path)
    return calls


def run_strace(commands, args, workdir):
    k = args.publishes
    for name, command in commands.items():
        low = strace_counts(name, command, args, k, workdir)
        high = strace_counts(name, command, args, 3 * k, workdir)
        per = {sc: (high.get(sc, 0) - low.get(sc, 0)) / (2.0 * k) for sc in set(low) | set(high)}
        rows = sorted(((v, sc) for sc, v in per.items() if abs(v) >= 0.5), reverse=True)
        print("\n%s: system calls per publish to %d subscribers (%d vs %d publishes, differenced)"
              % (name, args.conns, k, 3 * k))
        print("| syscall | calls per publish | per subscriber |\n|---|---:|---:|")
        for v, sc in rows:
            print("| %s | %.1f | %.3f |" % (sc, v, v / args.conns))
        total = sum(v for v, _ in rows)
        print("| all | %.1f | %.3f |" % (total, total / args.conns))


def run_perf(commands, args, workdir):
    for name, command in commands.items():
        data = os.path.join(workdir, "%s.perf" % name)
        result = run_sample(name, args.conns, args.procs, args.publishes, timeout=args.timeout,
                            command=wrapped(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data], command))
        if "error" in result:
            raise SystemExit("%s under perf: %s" % (name, result["error"]))
        for sort, limit in (("dso", 8), ("sym", args.top)):
            report = subprocess.run(
                ["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                 "--percent-limit", "0.5", "--sort", sort],
                capture_output=True, text=True, timeout=300)
            rows = [line for line in report.stdout.splitlines() if line.strip() and not line.startswith("#")]
            print("\n%s, %d publishes to %d subscribers: samples by %s" % (name, args.publishes, args.conns, sort))
            print("\n".join(rows[:limit]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["--wrap", "--"]:
        return wrap(argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tool", choices=("strace", "perf"), default="strace")
    p.add_argument("--bun", help="the bun binary (without it, wsfast alone)")
    p.add_argument("--conns", type=int, default=5000)
    p.add_argument("--procs", type=int, default=2, help="client processes")
    p.add_argument("--publishes", type=int, default=10, help="K (strace runs K and 3K); perf: publishes")
    p.add_argument("--top", type=int, default=20, help="perf: symbols shown")
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)
    if shutil.which(args.tool) is None:
        raise SystemExit("%s is needed" % args.tool)
    workdir = tempfile.mkdtemp(prefix="wsfast-%s-" % args.tool)
    try:
        (run_strace if args.tool == "strace" else run_perf)(server_commands(args.bun), args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
