"""Server CPU per publish: wsfast's ``server.publish`` against Bun's
``server.publish`` (uWebSockets), one process each, N subscribers.

Uses bench_broadcast.py's sample (the same client processes, a trigger
connection, 64 B binary messages, one warm-up): each client connection
subscribes to one topic when it opens, and each trigger message is
published to that topic. The stacks alternate within each run; the
figure is the server's CPU time per publish (from /proc), with the
ratio Bun / wsfast per run (above 1: Bun spends more). Not a pass/fail
test. Bun comes from the npm package ``bun`` (its binary is
node_modules/bun/bin/bun.exe after ``npm install bun`` in any directory).

    python benchmarks/bench_publish_bun.py --bun PATH/TO/bun.exe [--conns 5000] [--runs 3]
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bench_broadcast import run_sample  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bun", required=True, help="the bun binary")
    parser.add_argument("--conns", type=int, default=5000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    commands = {
        "wsfast": [sys.executable, os.path.join(HERE, "publish_server.py"), "{port}"],
        "bun": [args.bun, os.path.join(HERE, "bun_publish_server.js"), "{port}"],
    }
    samples = {name: [] for name in commands}
    ratios = []
    for run in range(args.runs):
        order = list(commands) if run % 2 == 0 else list(reversed(commands))
        got = {}
        for name in order:
            result = run_sample(name, args.conns, args.procs, args.publishes, command=commands[name])
            if "error" in result:
                print("run %d %s failed: %s" % (run + 1, name, result["error"]), flush=True)
                sys.exit(1)
            got[name] = result
            samples[name].append(result)
        ratios.append(got["bun"]["server_cpu_us"] / got["wsfast"]["server_cpu_us"])
        print("run %d: " % (run + 1) + "; ".join(
            "%s %.0f us CPU/publish, all reached in %.1f ms" % (n, got[n]["server_cpu_us"], got[n]["rate"])
            for n in commands) + "; Bun/wsfast CPU %.2f" % ratios[-1], flush=True)

    def spread(values, fmt="%.0f"):
        return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(values), min(values), max(values))

    print("\n%d subscribers, 64 B binary, %d publishes per sample, %d runs: median (min-max)"
          % (args.conns, args.publishes, args.runs))
    print("| server | CPU per publish (us) | time until all have it (ms) |\n|---|---|---|")
    for name in commands:
        print("| %s | %s | %s |" % (name, spread([s["server_cpu_us"] for s in samples[name]]),
                                    spread([s["rate"] for s in samples[name]], "%.1f")))
    print("| Bun / wsfast, CPU, same run | %s | |" % spread(ratios, "%.2f"))


if __name__ == "__main__":
    main()
