"""What an idle connection holds on the server, byte by byte.

    python benchmarks/idle_memory.py [--conns 2000] [--browser-headers]

Starts a wsfast echo server (compression off, as in ``bench_server.py
idle``) in a child process with tracemalloc on, opens ``--conns``
handshaken connections from this process and leaves them idle, then
prints from the server:

* the objects one idle connection holds (``sys.getsizeof`` of each
  object reachable from its ``WebSocket`` and owned by it alone: an
  object shared by two connections counts as shared, not per connection),
  plus the server's per-connection table entries;
* tracemalloc's growth per connection by allocating line;
* VmRSS growth per connection.

The first figure is what the live objects weigh; the last one adds the
allocator's overhead and the handshake's freed garbage that leaves pages
partly used.
"""

import argparse
import base64
import os
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
KEY = base64.b64encode(b"wsfast-idle-key!").decode()
PLAIN = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
BROWSER = ("GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
           "Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
           "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\n"
           "Origin: http://127.0.0.1\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n"
           "Accept-Language: en-US,en;q=0.9\r\nSec-WebSocket-Key: " + KEY + "\r\n\r\n")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# -- the server (child process) ------------------------------------------------


def owned_objects(ws, others):
    """(label, size) for each object reachable from ``ws`` and not from
    the connections in ``others`` (those are shared)."""
    import gc
    import types

    server = ws.server  # shared by all; not walked
    shared = set()
    stack = list(others)
    # What other connections reach (and module-level objects) is shared.
    seen_other = set()
    while stack:
        obj = stack.pop()
        if (id(obj) in seen_other or obj is server
                or isinstance(obj, (type, types.ModuleType, types.FunctionType))):
            continue
        seen_other.add(id(obj))
        shared.add(id(obj))
        stack.extend(_children(obj, gc))
    out, seen, stack = [], set(), [("WebSocket", ws)]
    while stack:
        label, obj = stack.pop()
        if id(obj) in seen or obj is server:
            continue
        seen.add(id(obj))
        if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            continue
        if id(obj) in shared or obj is None or obj is True or obj is False:
            continue
        if isinstance(obj, int) and -5 <= obj <= 256:
            continue  # cached small ints
        out.append((label, sys.getsizeof(obj)))
        for name, child in _named_children(obj, gc):
            stack.append(("%s.%s" % (label, name) if name else "%s[]" % label, child))
    return out


def _children(obj, gc):
    return [c for _, c in _named_children(obj, gc)]


def _named_children(obj, gc):
    slots = []
    for cls in type(obj).__mro__:
        slots.extend(getattr(cls, "__slots__", ()))
    names = [s for s in slots if s not in ("__weakref__", "__dict__")]
    if not names:
        # cdef classes: their public attributes
        names = [n for n in dir(type(obj)) if type(getattr(type(obj), n, None)).__name__ == "getset_descriptor"]
    kids = []
    for n in names:
        try:
            value = getattr(obj, n)
        except AttributeError:
            continue
        # A C field (an int, a flag) comes back as a new object each
        # time: it is part of its owner's size, not an object of its own.
        if getattr(obj, n) is value:
            kids.append((n, value))
    if not kids and not isinstance(obj, (str, bytes, int, float)):
        kids = [("", c) for c in gc.get_referents(obj)]
    return kids


def serve(port, conns, out_path):
    import gc
    import tracemalloc

    tracemalloc.start(4)
    from wsfast.server import Server

    server = Server(HOST, port, compression=False, ping_interval=None)
    state = {"opened": 0, "base": None}

    def on_open(ws):
        state["opened"] += 1
        if state["opened"] == 2:  # after the warm-up connection
            gc.collect()
            state["base"] = (tracemalloc.take_snapshot(), rss_kib(os.getpid()))
        if state["opened"] == conns + 1:
            server.call_later(1.0, report)

    def report():
        gc.collect()
        snap = tracemalloc.take_snapshot()
        rss = rss_kib(os.getpid())
        base_snap, base_rss = state["base"]
        n = conns - 1  # connections opened after the base snapshot
        lines = []
        clients = list(server.clients)
        ws = clients[0]
        owned = owned_objects(ws, clients[1:3])
        total = 0
        lines.append("objects one idle connection owns (sys.getsizeof):")
        for label, size in sorted(owned, key=lambda x: -x[1]):
            lines.append("  %5d  %s" % (size, label))
            total += size
        # Per-entry share of the server's tables (hash tables over-allocate).
        tables = {"server._conns (fd -> WebSocket)": server._conns,
                  "server.clients (set)": server.clients}
        for name, table in tables.items():
            share = sys.getsizeof(table) / max(1, len(table))
            lines.append("  %5.0f  %s, per entry" % (share, name))
            total += share
        lines.append("  %5.0f  total" % total)
        lines.append("")
        lines.append("tracemalloc growth per connection, by Python line (compiled code counts"
                     " as the Python line that called it):")
        stats = snap.compare_to(base_snap, "lineno")
        tm_total = 0
        for st in stats[:25]:
            per = st.size_diff / n
            tm_total += per
            if abs(per) >= 4:
                frame = st.traceback[0]
                lines.append("  %7.1f  %s:%d" % (per, os.path.relpath(frame.filename), frame.lineno))
        all_total = sum(st.size_diff for st in stats) / n
        lines.append("  %7.1f  total (all lines)" % all_total)
        lines.append("")
        lines.append("VmRSS growth per connection: %.2f KiB (with tracemalloc's own traces;"
                     " bench_server.py idle measures without)" % ((rss - base_rss) / n))
        with open(out_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        server.shutdown()

    server.on("open", on_open)
    server.on("message", lambda ws, m: ws.send(m))
    server.run()


# -- the client (this process) -------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--browser-headers", action="store_true")
    p.add_argument("--serve", nargs=3, metavar=("PORT", "CONNS", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(int(args.serve[0]), int(args.serve[1]), args.serve[2])
        return
    import tempfile

    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    fd, out = tempfile.mkstemp(suffix=".txt")
    os.close(fd)
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(args.conns), out])
    try:
        request = ((BROWSER if args.browser_headers else PLAIN) % port).encode()
        socks = []
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        time.sleep(0.3)
        for _ in range(args.conns + 1):
            c = socket.create_connection((HOST, port), timeout=10)
            c.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    raise ConnectionError("server closed")
                data += chunk
            socks.append(c)
        child.wait(timeout=120)
        with open(out) as f:
            sys.stdout.write(f.read())
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=10)
        os.unlink(out)


if __name__ == "__main__":
    main()
