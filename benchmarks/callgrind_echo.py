"""Server instructions per echo round trip or per handshake (callgrind).

    python benchmarks/callgrind_echo.py [--scenario echo|handshake|deflate] [-n 2000]

Runs a wsfast echo server under ``valgrind --tool=callgrind`` twice, once
for N and once for 3N operations from a client in this process, and
prints (I(3N) - I(N)) / 2N: the user-space instructions the server spends
per operation, with start-up and shutdown cancelled out (``callgrind.py``
has the method and the clients; ``wsfast bench --callgrind`` does the same
for every stack). ``echo``: one 256 B binary message and its echo, one in
flight, on one connection; ``handshake``: connect, upgrade, close;
``deflate``: a 256 B JSON text message and its echo with permessage-deflate
negotiated as browsers offer it (the server's default compression, 12
window bits, "adaptive"). This server exits by itself after N operations. Instruction counts do not
depend on what else the machine is doing, so this is the figure to compare
builds with (run it with each build's interpreter). Needs valgrind.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import callgrind  # noqa: E402


def serve(port, operations, compression):
    """The measured process: echo until ``operations`` closes or messages."""
    from wsfast.server import Server

    count = [0]

    def done(*_):
        count[0] += 1
        if count[0] >= operations:
            os._exit(0)

    server = Server("127.0.0.1", port, compression=compression, ping_interval=None)
    if compression:
        # One connection: the client closes it after its N round trips, so
        # the last echo has gone out before the server exits.
        server.on("message", lambda ws, m: ws.send(m))
        server.on("close", lambda *_: os._exit(0))
    else:
        server.on("message", lambda ws, m: (ws.send(m), done()))
        server.on("close", done)
    server.run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("echo", "handshake", "deflate"), default="echo")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.n, args.scenario == "deflate")
        return

    def argv(port, ops):
        return [sys.executable, os.path.abspath(__file__), "--serve", str(port), "-n", str(ops),
                "--scenario", args.scenario]

    per_op = callgrind.per_operation(argv, args.scenario, args.n, self_exits=True)
    import wsfast

    print("%s: %.0f server instructions per %s (N=%d; wsfast %s, backend %s)"
          % (args.scenario, per_op, "handshake" if args.scenario == "handshake" else "round trip",
             args.n, wsfast.__version__, wsfast.backend))


if __name__ == "__main__":
    main()
