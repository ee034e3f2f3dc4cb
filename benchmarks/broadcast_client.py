"""One client process of the suite's ``broadcast`` scenario.

    python3 benchmarks/broadcast_client.py --port P --conns K --broadcasts R

Opens K WebSocket connections to a broadcast server on 127.0.0.1 (see
``broadcast_servers.py``), prints ``{"ready": K}`` on stdout, then waits.
Every broadcast is a 64 B binary message whose first 8 bytes are its
sequence number; each connection records the time (``time.monotonic_ns``,
one clock for every process on the machine) at which it received it. Once
every connection has received broadcast ``s``, the process prints one line
``{"seq": s, "t": [receive time per connection]}``. It stops after R
broadcasts, or with ``{"error": ...}`` when its time limit is reached or a
connection misbehaves.

Plain non-blocking sockets, epoll and wsfast's frame parser: the same
client for every server. Sockets close with RST, so nothing is left in
TIME_WAIT.
"""

import argparse
import json
import os
import select
import sys
import time

import wsfast

from bench_client import BenchError, new_socket, read_response, request_bytes
from servers import HOST, raise_nofile

SIZE = 64


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect_all(port, n, batch, deadline):
    request = request_bytes(port)
    socks, pending = [], []
    for i in range(n):
        s = new_socket(10.0)
        s.connect((HOST, port))
        s.sendall(request)
        socks.append(s)
        pending.append(s)
        if len(pending) == batch or i == n - 1:
            for p in pending:
                if read_response(p, deadline):
                    raise BenchError("unexpected bytes after the handshake")
            pending = []
        if time.monotonic() > deadline:
            raise BenchError("opened only %d of %d connections" % (i + 1, n))
    return socks


def receive(socks, broadcasts, deadline):
    ep = select.epoll()
    parsers, got = {}, {}
    for s in socks:
        s.setblocking(False)
        fd = s.fileno()
        parsers[fd] = wsfast.FrameParser(server=False).feed
        got[fd] = 0  # broadcasts received on this connection
        ep.register(fd, select.EPOLLIN)
    by_fd = {s.fileno(): s for s in socks}
    n = len(socks)
    times = {}  # seq -> [receive times]
    next_seq = 0
    now_ns = time.monotonic_ns
    try:
        while next_seq < broadcasts:
            if time.monotonic() > deadline:
                raise BenchError("time limit: broadcast %d reached %d of %d connections"
                                 % (next_seq, len(times.get(next_seq, ())), n))
            for fd, _ev in ep.poll(0.5, 4096):
                try:
                    data = by_fd[fd].recv(65536)
                except BlockingIOError:
                    continue
                t = now_ns()
                if not data:
                    raise BenchError("server closed a connection")
                for op, payload, fin, _rsv1 in parsers[fd](data):
                    if op == wsfast.OP_PING or op == wsfast.OP_PONG:
                        continue
                    if op != wsfast.OP_BINARY or len(payload) != SIZE or not fin:
                        raise BenchError("unexpected frame: opcode %d, %d bytes" % (op, len(payload)))
                    seq = int.from_bytes(payload[:8], "big")
                    if seq != got[fd]:
                        raise BenchError("connection got broadcast %d, expected %d" % (seq, got[fd]))
                    got[fd] += 1
                    times.setdefault(seq, []).append(t)
            while next_seq < broadcasts and len(times.get(next_seq, ())) == n:
                emit({"seq": next_seq, "t": times.pop(next_seq)})
                next_seq += 1
    finally:
        ep.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, required=True)
    p.add_argument("--broadcasts", type=int, required=True)
    p.add_argument("--batch", type=int, default=64, help="handshakes in flight while connecting")
    p.add_argument("--timeout", type=float, default=60.0, help="time limit for the whole run")
    args = p.parse_args(argv)
    raise_nofile()
    deadline = time.monotonic() + args.timeout
    socks = []
    try:
        socks = connect_all(args.port, args.conns, args.batch, deadline)
        emit({"ready": len(socks), "pid": os.getpid()})
        receive(socks, args.broadcasts, deadline)
    except (BenchError, OSError) as exc:
        emit({"error": "%s: %s" % (type(exc).__name__, exc)})
        return 1
    finally:
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
