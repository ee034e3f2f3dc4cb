"""An echo ASGI app under uvicorn: wsfast's backend vs uvicorn's own.

    python3 benchmarks/bench_uvicorn.py [--repeats 5] [--loop asyncio|uvloop]
                                        [--backends wsfast,websockets-sansio,wsproto]

Each backend runs in its own uvicorn server process on 127.0.0.1 (an
ephemeral port), serving a plain ASGI echo app (no framework), with the
httptools HTTP protocol, compression not offered by the client and
keepalive pings off. One client process (this one) measures, per backend:

- ping-pong: one 256-byte binary message, wait for its echo, repeat
  (round trips per second; ``--pingpong`` round trips, at most 5 s);
- burst: ``--burst`` 1 KiB binary messages written at once by one thread
  while another reads the echoes; messages per second from the first byte
  written to the last echo read (at most 30 s).

Where Linux reports it (/proc/PID/schedstat), the server process's CPU
time per message is measured too: it is what the backend costs, and less
sensitive than throughput to a noisy machine.

The client is a raw blocking socket with prebuilt masked frames, so its
own cost is small and the same for every server; the first echoes of each
connection are checked byte for byte. Backends are interleaved within each
repeat (in rotating order); the table gives medians with min-max and the
speed relative to websockets-sansio (higher is faster), computed per
repeat.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

BACKENDS = {
    "wsfast": "wsfast.uvicorn:WSFastProtocol",
    "websockets-sansio": "websockets-sansio",
    "wsproto": "wsproto",
}
REFERENCE = "websockets-sansio"
PINGPONG_SIZE = 256
BURST_SIZE = 1024
PINGPONG_MAX_SECONDS = 5.0
BURST_MAX_SECONDS = 30.0


# -- server side (a child process) ---------------------------------------------


async def echo_app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        await send({"type": "websocket.send", "bytes": message.get("bytes"), "text": message.get("text")})


def serve(ws, loop):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print("PORT %d" % sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        echo_app,
        ws=ws,
        http="httptools",
        loop=loop,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws_ping_interval=None,
    )
    uvicorn.Server(config).run(sockets=[sock])


def start_server(name, loop):
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", BACKENDS[name], "--loop", loop],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # the child prints its port, then serves
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError("server for %s did not start: %r" % (name, line))
    port = int(line.split()[1])
    deadline = time.monotonic() + 15
    while True:  # bound but maybe not listening yet
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop_server(proc)
                raise RuntimeError("server for %s is not listening" % name)
            time.sleep(0.05)


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- client side -----------------------------------------------------------------


def client_frame(payload):
    """A masked binary frame; the zero mask key leaves the payload as is."""
    n = len(payload)
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 65536:
        head = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + payload


def server_frame(payload):
    n = len(payload)
    if n < 126:
        return bytes([0x82, n]) + payload
    if n < 65536:
        return bytes([0x82, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x82, 127]) + n.to_bytes(8, "big") + payload


def recv_exactly(sock, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise ConnectionError("server closed the connection")
        got += k
    return bytes(buf)


def open_ws(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=BURST_MAX_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n" % port
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("no handshake response")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("handshake refused: %r" % head[:80])
    if head.index(b"\r\n\r\n") + 4 != len(head):
        raise RuntimeError("unexpected bytes after the 101")
    # Check a few echoes byte for byte: distinct payloads, exact frames.
    for i in range(3):
        payload = bytes([i]) * 300
        sock.sendall(client_frame(payload))
        expected = server_frame(payload)
        if recv_exactly(sock, len(expected)) != expected:
            raise RuntimeError("wrong echo")
    return sock


def close_ws(sock):
    try:
        sock.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")  # close 1000
        sock.settimeout(2)
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()


def server_cpu(pid):
    """CPU time the server process has used, in seconds (Linux), or None."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def cpu_per_message(pid, before, count):
    after = server_cpu(pid)
    if before is None or after is None:
        return None
    return (after - before) / count * 1e6


def bench_pingpong(pid, port, count):
    sock = open_ws(port)
    try:
        payload = os.urandom(PINGPONG_SIZE)
        frame = client_frame(payload)
        expected = server_frame(payload)
        size = len(expected)
        deadline = time.perf_counter() + PINGPONG_MAX_SECONDS
        cpu = server_cpu(pid)
        start = time.perf_counter()
        done = 0
        while done < count:
            sock.sendall(frame)
            got = recv_exactly(sock, size)
            done += 1
            if done % 500 == 0 and time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - start
        cpu = cpu_per_message(pid, cpu, done)
        if got != expected:
            raise RuntimeError("wrong echo")
        return done / elapsed, cpu
    finally:
        close_ws(sock)


def bench_burst(pid, port, count):
    sock = open_ws(port)
    try:
        payload = os.urandom(BURST_SIZE)
        blob = client_frame(payload) * count
        expected = server_frame(payload)
        total = len(expected) * count
        errors = []

        def writer():
            try:
                sock.sendall(blob)
            except OSError as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=writer)
        cpu = server_cpu(pid)
        start = time.perf_counter()
        thread.start()
        buf = bytearray(1 << 20)
        got = 0
        tail = b""
        size = len(expected)
        while got < total:
            k = sock.recv_into(buf)
            if not k:
                raise ConnectionError("server closed the connection")
            got += k
            tail = (tail + bytes(buf[max(0, k - size):k]))[-size:]
            if time.perf_counter() - start > BURST_MAX_SECONDS:
                raise RuntimeError("burst took over %s s" % BURST_MAX_SECONDS)
        elapsed = time.perf_counter() - start
        cpu = cpu_per_message(pid, cpu, count)
        thread.join(BURST_MAX_SECONDS)
        if errors:
            raise errors[0]
        if got != total or tail != expected:
            raise RuntimeError("wrong echo stream")
        return count / elapsed, cpu
    finally:
        close_ws(sock)


def fmt(values, digits=0):
    med = statistics.median(values)
    return "%10.*f  (%.*f-%.*f)" % (digits, med, digits, min(values), digits, max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pingpong", type=int, default=5000, help="round trips per sample")
    parser.add_argument("--burst", type=int, default=10000, help="messages per sample")
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.loop)
        return
    if not 1 <= args.repeats <= 50 or not 1 <= args.pingpong <= 10**6 or not 1 <= args.burst <= 10**6:
        parser.error("repeats 1-50, pingpong and burst 1-1,000,000")
    names = [n for n in args.backends.split(",") if n]
    for n in names:
        if n not in BACKENDS:
            parser.error("unknown backend %r" % n)

    import uvicorn

    print("uvicorn %s, Python %s, loop %s, %d repeats; ping-pong %d x %d B, burst %d x %d B"
          % (uvicorn.__version__, sys.version.split()[0], args.loop, args.repeats,
             args.pingpong, PINGPONG_SIZE, args.burst, BURST_SIZE), flush=True)
    servers = {}
    try:
        for name in names:
            servers[name] = start_server(name, args.loop)
        for name in names:  # warm-up, discarded
            proc, port = servers[name]
            bench_pingpong(proc.pid, port, min(500, args.pingpong))
            bench_burst(proc.pid, port, min(1000, args.burst))
        results = {n: {} for n in names}
        for rep in range(args.repeats):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for name in order:
                proc, port = servers[name]
                for metric, fn, count in (("pingpong", bench_pingpong, args.pingpong),
                                          ("burst", bench_burst, args.burst)):
                    rate, cpu = fn(proc.pid, port, count)
                    results[name].setdefault(metric, []).append(rate)
                    if cpu is not None:
                        results[name].setdefault(metric + "-cpu", []).append(cpu)
            print("  repeat %d/%d done" % (rep + 1, args.repeats), flush=True)
    finally:
        for proc, _ in servers.values():
            stop_server(proc)

    tables = (
        ("pingpong", "round trips/s", 0, False),
        ("burst", "messages/s", 0, False),
        ("pingpong-cpu", "server CPU us per round trip", 1, True),
        ("burst-cpu", "server CPU us per message", 2, True),
    )
    for metric, unit, digits, lower_is_better in tables:
        if not all(metric in results[n] for n in names):
            continue
        print("\n%s (%s): median (min-max), speed vs %s per repeat" % (metric, unit, REFERENCE))
        for name in names:
            values = results[name][metric]
            line = "  %-18s %s" % (name, fmt(values, digits))
            if REFERENCE in results:
                pairs = zip(values, results[REFERENCE][metric])
                ratios = [r / v if lower_is_better else v / r for v, r in pairs]
                line += "   x%.2f (%.2f-%.2f)" % (statistics.median(ratios), min(ratios), max(ratios))
            print(line)


if __name__ == "__main__":
    main()
