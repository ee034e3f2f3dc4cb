"""Broadcast benchmark: one server, N clients, a 64 B message sent to all.

    python3 benchmarks/bench_broadcast.py STACK [--conns 1000] [--procs 2] [--broadcasts 10]

The server (``broadcast_servers.py STACK``) runs in its own process; the N
client connections are spread over ``--procs`` client processes
(``broadcast_client.py``); this process holds one more connection, the
trigger. For each broadcast it notes the time, sends a 64 B binary message
(sequence number + padding) on the trigger connection, and the server sends
it to all N + 1 connections. Every client connection records when it
received the message, on the machine-wide monotonic clock, so a latency is
"receive time - trigger time" across processes. The next broadcast starts
only once every client has reported the previous one.

Per sample: the time until every client had the message (the largest
latency, median over the broadcasts), p50, p99 and max of all latencies, and
the server's CPU time per broadcast. One warm-up broadcast is not counted.
The latencies include the clients' own work: a client process reads its
connections one after the other, so the last of its connections sees the
message later than the first. The clients are the same for every server.
"""

import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import wsfast  # noqa: E402

from bench_client import server_cpu, ws_connect  # noqa: E402
from bench_server import ServerProcess  # noqa: E402

SIZE = 64


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class ClientProcs:
    """The client processes, and their JSON lines read with a deadline."""

    def __init__(self, port, sizes, broadcasts, timeout, argv=None):
        """``argv(i, k)``: the command of client process i, holding k
        connections (default: broadcast_client.py)."""
        self.procs, self.buffers, self.errlogs = [], {}, []
        self.sel = selectors.DefaultSelector()
        if argv is None:
            def argv(_i, k):
                return [sys.executable, os.path.join(HERE, "broadcast_client.py"), "--port", str(port),
                        "--conns", str(k), "--broadcasts", str(broadcasts), "--timeout", str(timeout)]
        for i, k in enumerate(sizes):
            err = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                argv(i, k),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
            self.procs.append(proc)
            self.errlogs.append(err)
            self.buffers[proc.stdout.fileno()] = b""
            self.sel.register(proc.stdout, selectors.EVENT_READ, proc)
        self.lines = {p.pid: [] for p in self.procs}

    def next_line_from_each(self, deadline, what):
        """Waits for one JSON line from every client process."""
        want = {p.pid for p in self.procs}
        got = {}
        for pid in list(want):
            if self.lines[pid]:
                got[pid] = self.lines[pid].pop(0)
                want.discard(pid)
        while want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("timed out waiting for %s from %d client process(es)" % (what, len(want)))
            for key, _ in self.sel.select(min(left, 1.0)):
                proc = key.data
                fd = key.fd
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.sel.unregister(key.fileobj)
                    if proc.pid in want:
                        raise RuntimeError("client process exited: %s" % self.stderr_tail(proc))
                    continue
                self.buffers[fd] += chunk
                while b"\n" in self.buffers[fd]:
                    line, self.buffers[fd] = self.buffers[fd].split(b"\n", 1)
                    self.lines[proc.pid].append(json.loads(line))
                if proc.pid in want and self.lines[proc.pid]:
                    got[proc.pid] = self.lines[proc.pid].pop(0)
                    want.discard(proc.pid)
        for obj in got.values():
            if "error" in obj:
                raise RuntimeError("client: " + obj["error"])
        return list(got.values())

    def stderr_tail(self, proc):
        err = self.errlogs[self.procs.index(proc)]
        err.seek(0)
        return err.read().decode(errors="replace").strip()[-300:]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            p.stdout.close()
        self.sel.close()
        for e in self.errlogs:
            e.close()


def read_trigger_echo(sock, parser, seq, deadline):
    """The trigger connection gets the broadcast too: read it (and check it)."""
    while True:
        if time.monotonic() > deadline:
            raise RuntimeError("trigger connection: no broadcast %d" % seq)
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("trigger connection closed by the server")
        for op, payload, _fin, _rsv1 in parser(chunk):
            if op == wsfast.OP_BINARY and len(payload) == SIZE and int.from_bytes(payload[:8], "big") == seq:
                return


def run_sample(stack, conns=1000, procs=2, broadcasts=10, timeout=120.0, command=None):
    """One sample against a fresh server; returns a dict (``error`` on failure)."""
    if command is None:
        command = [sys.executable, os.path.join(HERE, "broadcast_servers.py"), stack, "--port", "{port}"]
    procs = max(1, min(procs, conns))
    sizes = [conns // procs + (1 if i < conns % procs else 0) for i in range(procs)]
    server = clients = sock = None
    deadline = time.monotonic() + timeout
    try:
        server = ServerProcess(stack, command=command)
        server.wait_ready()
        clients = ClientProcs(server.port, sizes, broadcasts + 1, timeout)
        ready = clients.next_line_from_each(deadline, "the clients' connections")
        if sum(r["ready"] for r in ready) != conns:
            raise RuntimeError("clients opened %d of %d connections" % (sum(r["ready"] for r in ready), conns))
        time.sleep(0.3)  # the last handshakes' handlers run on the server
        sock, rest = ws_connect(server.port, timeout=10.0, check_accept=True)
        if rest:
            raise RuntimeError("unexpected bytes after the trigger's handshake")
        encode = wsfast.FrameEncoder(client=True).encode
        parser = wsfast.FrameParser(server=False).feed
        to_all, pooled = [], []
        cpu0 = None
        for seq in range(broadcasts + 1):
            if seq == 1:
                cpu0 = server_cpu(server.pid)
            frame = encode(wsfast.OP_BINARY, seq.to_bytes(8, "big") + bytes(SIZE - 8))
            t0 = time.monotonic_ns()
            sock.sendall(frame)
            reports = clients.next_line_from_each(deadline, "broadcast %d" % seq)
            read_trigger_echo(sock, parser, seq, deadline)
            if any(r.get("seq") != seq for r in reports):
                raise RuntimeError("client reported %r for broadcast %d" % ([r.get("seq") for r in reports], seq))
            if seq == 0:
                continue  # warm-up
            lat = [(t - t0) / 1e6 for r in reports for t in r["t"]]
            if len(lat) != conns:
                raise RuntimeError("broadcast %d reached %d of %d clients" % (seq, len(lat), conns))
            to_all.append(max(lat))
            pooled.extend(lat)
        cpu = server_cpu(server.pid) - cpu0 if broadcasts else 0.0
        if not server.alive():
            raise RuntimeError("server died: %s" % server.log_tail())
        pooled.sort()
        return {"rate": statistics.median(to_all), "unit": "ms", "conns": conns, "procs": procs,
                "broadcasts": broadcasts, "time_to_all_ms": to_all,
                "p50_ms": percentile(pooled, 50), "p99_ms": percentile(pooled, 99), "max_ms": pooled[-1],
                "server_cpu_us": cpu / broadcasts * 1e6}
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


def main(argv=None):
    import argparse

    from broadcast_servers import STACKS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stack", choices=STACKS)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    p.add_argument("--broadcasts", type=int, default=10, help="counted broadcasts (default 10)")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    result = run_sample(args.stack, args.conns, args.procs, args.broadcasts, args.timeout)
    print(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
