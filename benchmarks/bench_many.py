"""Many connections at once, wsfast beside Bun: server CPU per message.

    python benchmarks/bench_many.py [--bun PATH/TO/bun.exe] [--conns 1000] [--duration 3] [--repeats 5]

``--conns`` connections to one echo server, each with one 256 B binary
message in flight: every echo sends that connection's next message
(``bench_client.py many``). Each sample starts a fresh server (wsfast's
``servers.py``, Bun's ``bun_echo.js``); the stacks alternate sample by
sample, so that both see the same machine. Prints, per stack, the median
and the range of the server's CPU per message and of the message rate,
and Bun's CPU per message relative to wsfast's in each pair of samples
(above 1: Bun used more). Loopback only; every process is started here
and stopped by PID, and every sample is bounded by ``--timeout``.
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bench_server import run_sample  # noqa: E402
from common import external_command, find_bun  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bun", help="Bun's executable (default: found as wsfast bench finds it)")
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    args.browser_headers, args.profile_dir = False, None
    bun = find_bun(args.bun)
    stacks = {"wsfast": None}
    if bun:
        stacks["bun"] = external_command("bun", bun)
    else:
        print("Bun not found: wsfast only", file=sys.stderr)
    samples = {name: [] for name in stacks}
    for repeat in range(args.repeats):
        for name, command in stacks.items():
            result = run_sample("many", name if command is None else "wsfast", args, repeat, command)
            if "error" in result:
                raise SystemExit("%s: %s" % (name, result["error"]))
            samples[name].append(result)
            print("%s #%d: %.2f us server CPU/message, %.0f messages/s" % (
                name, repeat + 1, result["server_cpu_us"], result["rate"]), file=sys.stderr)
    print("%d connections, one 256 B message in flight on each; %d samples of %.1f s"
          % (args.conns, args.repeats, args.duration))
    print("| stack | server CPU, us/message | messages/s |\n|---|---:|---:|")
    for name, got in samples.items():
        cpu = [r["server_cpu_us"] for r in got]
        rate = [r["rate"] for r in got]
        print("| %s | %.2f (%.2f - %.2f) | %.0f (%.0f - %.0f) |" % (
            name, statistics.median(cpu), min(cpu), max(cpu), statistics.median(rate), min(rate), max(rate)))
    if "bun" in samples:
        ratios = [b["server_cpu_us"] / w["server_cpu_us"] for w, b in zip(samples["wsfast"], samples["bun"])]
        print("Bun / wsfast server CPU per message: %.2f (%.2f - %.2f)"
              % (statistics.median(ratios), min(ratios), max(ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
