"""Server RSS per connection with compression, busy then idle, for each
``compression_idle`` mode, pings off (the park sweep's case).

    python benchmarks/park_memory.py [--conns 2000] [--interval 1]

For each mode, a wsfast echo ``Server`` runs in a child process with
``ping_interval=None``; this process opens ``--conns`` connections that
negotiate permessage-deflate, sends one 2 KiB JSON message on each
(compressed both ways) and reads the echo, then leaves them idle. Prints
the server's VmRSS growth per connection after the handshakes, after the
messages, and after three park sweeps (``compression_park_interval``);
"adaptive,notrim" without the sweep's malloc_trim.
"""

import argparse
import socket
import subprocess
import sys
import time

from wsfast.protocol.client_connection import ClientConnection

from bench_client import server_rss_kib as rss_kib
from json_corpus import sized_messages

SERVER = """
import sys
from wsfast.server import Server, limits
mode, _, trim = sys.argv[1].partition(",")
if trim == "notrim":
    limits.COMPRESSION_TRIM_MIN_PARKED = float("inf")
s = Server("127.0.0.1", 0, ping_interval=None, compression_idle=mode,
           compression_park_interval=float(sys.argv[2]), max_connections=100000,
           on_message=lambda ws, m: ws.send(m))
s.listen()
print(s.port, flush=True)
s.serve_forever()
"""


def exchange(sock, conn, want):
    """Read until ``want`` events arrived; returns them."""
    events = []
    while len(events) < want:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("server closed")
        events += conn.receive_data(data)
    return events


def run(mode, conns, interval, msg):
    proc = subprocess.Popen([sys.executable, "-c", SERVER, mode, str(interval)], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline())
        pid = proc.pid
        time.sleep(0.3)
        base = rss_kib(pid)
        socks = []
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", port))
            c = ClientConnection("127.0.0.1", port)
            c.connect()
            s.sendall(c.data_to_send())
            exchange(s, c, 1)  # Open
            assert c.deflate is not None, "permessage-deflate not negotiated"
            socks.append((s, c))
        time.sleep(0.2)
        handshaken = rss_kib(pid)
        for s, c in socks:
            c.send(msg)
            s.sendall(c.data_to_send())
            assert exchange(s, c, 1)[0] == msg
        busy = rss_kib(pid)
        time.sleep(interval * 3 + 0.2)
        idle = rss_kib(pid)
        for s, _ in socks:
            s.close()
        per = lambda kib: (kib - base) / conns  # noqa: E731
        return {"handshaken": per(handshaken), "busy": per(busy), "idle": per(idle)}
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--interval", type=float, default=1.0, help="compression_park_interval (s)")
    args = p.parse_args()
    msg = sized_messages(2048, 1)[0].decode()
    print("Server VmRSS growth per connection (KiB), %d connections, pings off, "
          "park interval %gs:" % (args.conns, args.interval))
    print()
    print("| compression_idle | after handshake | after one 2 KiB message each way | idle, after 3 sweeps |")
    print("|---|---:|---:|---:|")
    for mode in ("window", "keep", "adaptive", "adaptive,notrim"):
        r = run(mode, args.conns, args.interval, msg)
        print("| %s | %.1f | %.1f | %.1f |" % (mode, r["handshaken"], r["busy"], r["idle"]))


if __name__ == "__main__":
    main()
