"""Where a handshake's or a round trip's server cost goes, beside Bun's:
system calls per operation (strace), and heap allocations per operation
(from callgrind profiles).

    python benchmarks/syscalls_echo.py [--kind handshake|echo] [-n 1000] [--bun PATH/TO/bun.exe]
    python benchmarks/syscalls_echo.py --allocations DIR [--kind handshake] [-n 1000]

The first form runs each echo server (wsfast's ``servers.py``, Bun's
``bun_echo.js``) under ``strace -c -f`` twice, while ``callgrind.drive``
makes N and then 3N operations (a handshake: connect, upgrade, read the
101, close; an echo: one 256 B binary message and its echo), and prints,
per syscall, (calls(3N) - calls(N)) / 2N: the calls per operation with
start-up and shutdown cancelled out.

The second reads the two profiles ``callgrind_echo.py`` keeps when
``WSFAST_CALLGRIND_KEEP=DIR`` (``callgrind.out.<kind>.<N>`` and
``.<3N>``) and prints the calls per operation to the allocators (CPython's
object allocator, libc's malloc) and to the deallocators, differenced the
same way (``PyObject_Malloc`` is CPython's public entry to
``_PyObject_Malloc``: the second counts every object allocation, the
first only those made through it). Needs strace, or valgrind's output. Loopback only; every
process is started here and stopped by PID.
"""

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import callgrind  # noqa: E402
from common import external_command  # noqa: E402
from syscalls_publish import strace_summary, wrapped  # noqa: E402

ALLOCATORS = ("_PyObject_Malloc", "PyObject_Malloc", "_PyObject_Calloc", "malloc", "calloc", "realloc",
              "_PyObject_Free", "free")


def server_commands(bun):
    commands = {"wsfast": [sys.executable, os.path.join(HERE, "servers.py"), "wsfast", "--port", "{port}"]}
    if bun:
        commands["bun"] = external_command("bun", bun)
    return commands


def strace_counts(command, kind, operations, workdir, name):
    out = os.path.join(workdir, "%s.%s.%d" % (name, kind, operations))
    port = callgrind.free_port()
    argv = [a.replace("{port}", str(port)) for a in wrapped(["strace", "-c", "-f", "-o", out], command)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                callgrind.socket.create_connection(("127.0.0.1", port)).close()
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("%s did not start under strace" % name)
                time.sleep(0.2)
        callgrind.drive(port, kind, operations)
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    return strace_summary(out)


def run_strace(args):
    with tempfile.TemporaryDirectory() as workdir:
        for name, command in server_commands(args.bun).items():
            low = strace_counts(command, args.kind, args.n, workdir, name)
            high = strace_counts(command, args.kind, 3 * args.n, workdir, name)
            per = {sc: (high.get(sc, 0) - low.get(sc, 0)) / (2.0 * args.n) for sc in set(low) | set(high)}
            rows = sorted(((v, sc) for sc, v in per.items() if abs(v) >= 0.05), reverse=True)
            print("\n%s: system calls per %s (%d vs %d, differenced)" % (name, args.kind, args.n, 3 * args.n))
            print("| syscall | calls |\n|---|---:|")
            for v, sc in rows:
                print("| %s | %.2f |" % (sc, v))
            print("| all | %.2f |" % sum(v for v, _ in rows))


def calls_to(path, names):
    """{function: calls} to ``names`` in a callgrind profile (its cfn/calls lines)."""
    ids, counts, target = {}, collections.Counter(), None
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                # A name is given once, with its id, in either kind of line.
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
                if m and m.group(2):
                    ids[m.group(1)] = m.group(2)
                if line.startswith("cfn="):
                    target = ids.get(m.group(1)) if m else None
            elif line.startswith("calls=") and target in names:
                counts[target] += int(line.split()[0][6:])
                target = None
            elif not line.startswith(("cob=", "cfi=", "cfl=")):
                target = None if not line.startswith("calls=") else target
    return counts


def run_allocations(args):
    low = calls_to(os.path.join(args.allocations, "callgrind.out.%s.%d" % (args.kind, args.n)), ALLOCATORS)
    high = calls_to(os.path.join(args.allocations, "callgrind.out.%s.%d" % (args.kind, 3 * args.n)), ALLOCATORS)
    print("| function | calls per %s |\n|---|---:|" % args.kind)
    for name in ALLOCATORS:
        v = (high[name] - low[name]) / (2.0 * args.n)
        if abs(v) >= 0.05:
            print("| %s | %.2f |" % (name, v))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=("handshake", "echo"), default="handshake")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--bun", help="Bun's executable, for its figures beside wsfast's")
    p.add_argument("--allocations", metavar="DIR", help="count allocations in callgrind_echo.py's kept profiles")
    args = p.parse_args(argv)
    if args.allocations:
        run_allocations(args)
    else:
        run_strace(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
