"""The one client ``bench_server.py`` drives every server with.

    python3 benchmarks/bench_client.py SCENARIO --port P --server-pid PID [options]

Runs one scenario against an echo server on 127.0.0.1 and prints one JSON
object on stdout. Plain sockets (blocking, or non-blocking with poll) and
wsfast's codec; no event loop, so the client costs every server the same.

Scenarios:

* ``pingpong``: one connection, one 256 B binary message in flight; round
  trips per second over ``--duration`` seconds. With ``--raw`` the same loop
  sends 256 raw bytes and reads 256 back (the raw-TCP floor).
* ``burst``: one connection; ``--bursts`` times, send ``--messages`` x 1 KiB
  binary messages (large writes) while reading, until every echo is parsed.
  Messages per second over all bursts.
* ``idle``: open ``--conns`` handshaken connections and leave them idle;
  the server's VmRSS before and after, in KiB per connection.
* ``handshakes``: ``--concurrency`` connections at a time, each connect +
  upgrade request + read the 101 + close (RST), for ``--duration`` seconds.
* ``many``: ``--conns`` connections, each with one 256 B binary message in
  flight (each echo sends that connection's next), for ``--duration``
  seconds: messages per second. Run by hand against a server started
  with ``servers.py`` or ``bun_echo.js`` (see benchmarks/README.md).

Besides the rate, every timed scenario reports the server process's CPU time
per operation (from /proc: the scheduler's run time of its threads), which the
noise of a shared machine disturbs much less than wall-clock rates, and
the client's own CPU time per operation (to see when the client is the
bottleneck).
"""

import argparse
import base64
import hashlib
import json
import os
import select
import socket
import struct
import sys
import time

import wsfast

HOST = "127.0.0.1"
KEY = base64.b64encode(b"wsfast-bench-key").decode()  # 16 bytes
ACCEPT = base64.b64encode(hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                          .digest()).decode()
LINGER_RST = struct.pack("ii", 1, 0)
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


# -- the server process, seen from /proc ------------------------------------------


def server_cpu(pid):
    """Seconds of CPU the server process has used: the scheduler's
    nanosecond run time summed over its threads, or else user + system
    time in clock ticks (10 ms resolution)."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS for pid %d" % pid)


# -- connections --------------------------------------------------------------------------


# What a browser adds to an upgrade request (--browser-headers). The
# extension offer also checks that every server really has compression off.
BROWSER_HEADERS = (
    "Pragma: no-cache\r\nCache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Origin: http://%s:%d\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
)
EXTRA_HEADERS = ""


def request_bytes(port):
    extra = EXTRA_HEADERS % (HOST, port) if EXTRA_HEADERS else ""
    return ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "%sSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (HOST, port, extra, KEY)).encode()


def new_socket(timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Close with RST: no TIME_WAIT on the client's side, whatever the run length.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    s.settimeout(timeout)
    return s


def read_response(s, deadline, check_accept=False):
    """Reads the handshake response; returns bytes received after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline or len(data) > 65536:
            raise BenchError("no complete handshake response")
        chunk = s.recv(65536)
        if not chunk:
            raise BenchError("connection closed during the handshake: %r" % data[:200])
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise BenchError("handshake refused: %r" % head[:200])
    if check_accept:
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"sec-websocket-accept") != ACCEPT.encode():
            raise BenchError("bad Sec-WebSocket-Accept: %r" % headers.get(b"sec-websocket-accept"))
        if b"sec-websocket-extensions" in headers:
            raise BenchError("server negotiated an extension: %r" % headers[b"sec-websocket-extensions"])
    return rest


def ws_connect(port, timeout=10.0, check_accept=False):
    s = new_socket(timeout)
    s.connect((HOST, port))
    s.sendall(request_bytes(port))
    rest = read_response(s, time.monotonic() + timeout, check_accept)
    return s, rest


def echo_once(s, payload, rest=b"", timeout=10.0):
    """Sends one binary message and checks its echo with the full parser."""
    s.sendall(wsfast.FrameEncoder(client=True).encode(wsfast.OP_BINARY, payload))
    parser = wsfast.FrameParser(server=False)
    frames = parser.feed(rest) if rest else []
    deadline = time.monotonic() + timeout
    while not frames:
        if time.monotonic() > deadline:
            raise BenchError("no echo")
        chunk = s.recv(65536)
        if not chunk:
            raise BenchError("connection closed before the echo")
        frames = parser.feed(chunk)
    op, data, fin, rsv1 = frames[0]
    if len(frames) != 1 or op != wsfast.OP_BINARY or not fin or rsv1 or bytes(data) != payload:
        raise BenchError("bad echo: %r" % (frames[:2],))


def exchange_loop(s, out, expect, duration, max_rounds):
    """One message in flight: send ``out``, read until ``len(expect)`` bytes
    arrived, compare, repeat. Returns (rounds, seconds)."""
    n = len(expect)
    buf = bytearray(max(n, 65536))
    view = memoryview(buf)
    send, recv_into = s.send, s.recv_into
    rounds = 0
    t0 = time.perf_counter()
    stop = t0 + duration
    now = t0
    while now < stop and rounds < max_rounds:
        for _ in range(64):  # check the clock every 64 round trips
            if send(out) != len(out):
                raise BenchError("short send")
            got = recv_into(buf)
            while got < n:
                k = recv_into(view[got:])
                if not k:
                    raise BenchError("connection closed")
                got += k
            if got != n or view[:n] != expect:
                raise BenchError("unexpected echo (%d bytes)" % got)
        rounds += 64
        now = time.perf_counter()
    return rounds, now - t0


# -- scenarios -----------------------------------------------------------------------------------


def pingpong(args):
    payload = os.urandom(args.size)
    if args.raw:
        s = new_socket(10.0)
        s.connect((HOST, args.port))
        out, expect = payload, payload
    else:
        s, rest = ws_connect(args.port, check_accept=True)
        echo_once(s, payload, rest)  # verified with the parser once
        out = wsfast.FrameEncoder(client=True).encode(wsfast.OP_BINARY, payload)
        expect = wsfast.FrameEncoder(client=False).encode(wsfast.OP_BINARY, payload)
    try:
        exchange_loop(s, out, expect, 0.2, 1 << 30)  # warm-up
        cpu0, own0 = server_cpu(args.server_pid), time.process_time()
        rounds, secs = exchange_loop(s, out, expect, args.duration, 1 << 30)
        cpu, own = server_cpu(args.server_pid) - cpu0, time.process_time() - own0
    finally:
        s.close()
    return {"rate": rounds / secs, "unit": "round trips/s", "ops": rounds, "seconds": secs,
            "server_cpu_us": cpu / rounds * 1e6, "client_cpu_us": own / rounds * 1e6}


def burst(args):
    n, size = args.messages, args.size
    payload = os.urandom(size)
    s, rest = ws_connect(args.port, check_accept=True)
    echo_once(s, payload, rest)
    wire = wsfast.FrameEncoder(client=True).encode_many([(wsfast.OP_BINARY, payload)] * n)
    s.setblocking(False)
    poller = select.poll()
    fd = s.fileno()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    wire_view = memoryview(wire)
    chunk = 256 * 1024
    total_time = 0.0
    total_msgs = 0
    times = []
    cpu0, own0 = server_cpu(args.server_pid), time.process_time()
    try:
        for _ in range(args.bursts):
            parser = wsfast.FrameParser(server=False)
            sent = received = 0
            t0 = time.perf_counter()
            deadline = time.monotonic() + args.timeout
            poller.register(fd, select.POLLIN | select.POLLOUT)
            writing = True
            while received < n:
                if time.monotonic() > deadline:
                    raise BenchError("burst timed out: %d of %d echoes" % (received, n))
                for _fd, ev in poller.poll(1000):
                    if ev & select.POLLOUT and writing:
                        try:
                            sent += s.send(wire_view[sent:sent + chunk])
                        except BlockingIOError:
                            pass
                        if sent == len(wire):
                            writing = False
                            poller.modify(fd, select.POLLIN)
                    if ev & (select.POLLIN | select.POLLERR | select.POLLHUP):
                        try:
                            k = s.recv_into(buf)
                        except BlockingIOError:
                            continue
                        if not k:
                            raise BenchError("connection closed after %d echoes" % received)
                        for op, data, fin, rsv1 in parser.feed(view[:k]):
                            if op != wsfast.OP_BINARY or len(data) != size or not fin:
                                raise BenchError("bad echo frame: op %d, %d bytes" % (op, len(data)))
                            received += 1
            dt = time.perf_counter() - t0
            poller.unregister(fd)
            if received != n:
                raise BenchError("got %d echoes for %d messages" % (received, n))
            if bytes(data) != payload:
                raise BenchError("echo payload differs")
            times.append(dt)
            total_time += dt
            total_msgs += n
        cpu, own = server_cpu(args.server_pid) - cpu0, time.process_time() - own0
    finally:
        s.close()
    return {"rate": total_msgs / total_time, "unit": "messages/s", "ops": total_msgs,
            "seconds": total_time, "best_rate": n / min(times),
            "server_cpu_us": cpu / total_msgs * 1e6, "client_cpu_us": own / total_msgs * 1e6}


def idle(args):
    pid, port, n = args.server_pid, args.port, args.conns
    # Warm up: one full connection (handshake and a message), so code paths
    # and their lazily created objects exist before the "before" figure.
    s, rest = ws_connect(port, check_accept=True)
    echo_once(s, b"x" * 256, rest)
    s.close()
    time.sleep(0.3)
    before = server_rss_kib(pid)
    request = request_bytes(port)
    socks = []
    deadline = time.monotonic() + args.timeout
    try:
        batch = []
        for i in range(n):
            s = new_socket(10.0)
            socks.append(s)
            s.connect((HOST, port))
            s.sendall(request)
            batch.append(s)
            if len(batch) == args.batch or i == n - 1:
                for b in batch:
                    if read_response(b, deadline):
                        raise BenchError("unexpected bytes after the handshake")
                batch = []
            if time.monotonic() > deadline:
                raise BenchError("opened only %d of %d connections in %ds" % (i + 1, n, args.timeout))
        time.sleep(args.settle)
        after = server_rss_kib(pid)
        # Still alive and working? Echo on a spread of them (after measuring).
        for s in socks[:: max(1, n // 16)]:
            echo_once(s, b"y" * 256)
    finally:
        for s in socks:
            s.close()
    return {"rate": (after - before) / n, "unit": "KiB/conn", "ops": n,
            "rss_before_kib": before, "rss_after_kib": after}


def handshakes(args):
    port, pid = args.port, args.server_pid
    s, rest = ws_connect(port, check_accept=True)  # verify once
    s.close()
    request = request_bytes(port)
    poller = select.poll()
    live = {}  # fd -> [socket, received bytes]

    def start():
        s = new_socket(10.0)
        s.connect((HOST, port))  # loopback: completes at once
        s.setblocking(False)
        s.send(request)
        live[s.fileno()] = [s, b""]
        poller.register(s.fileno(), select.POLLIN)

    done = 0
    cpu0, own0 = server_cpu(pid), time.process_time()
    t0 = time.perf_counter()
    stop = t0 + args.duration
    hard_stop = time.monotonic() + args.duration + args.timeout
    try:
        for _ in range(args.concurrency):
            start()
        while live:
            if time.monotonic() > hard_stop:
                raise BenchError("handshakes stalled")
            for fd, ev in poller.poll(1000):
                entry = live[fd]
                try:
                    chunk = entry[0].recv(4096)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise BenchError("connection closed during the handshake")
                entry[1] += chunk
                if b"\r\n\r\n" not in entry[1]:
                    continue
                if not entry[1].startswith(b"HTTP/1.1 101"):
                    raise BenchError("handshake refused: %r" % entry[1][:200])
                poller.unregister(fd)
                del live[fd]
                entry[0].close()
                done += 1
                if time.perf_counter() < stop:
                    start()
        secs = time.perf_counter() - t0
        cpu, own = server_cpu(pid) - cpu0, time.process_time() - own0
    finally:
        for s, _ in live.values():
            s.close()
    return {"rate": done / secs, "unit": "handshakes/s", "ops": done, "seconds": secs,
            "server_cpu_us": cpu / done * 1e6, "client_cpu_us": own / done * 1e6}


# What a browser offers (Chrome, Firefox): permessage-deflate with
# client_max_window_bits, both sides keeping their context.
DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"


def _deflate_params(head):
    """The permessage-deflate parameters the server accepted (a dict), or
    raises BenchError when it declined."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-extensions":
            parts = [x.strip() for x in value.decode("latin-1").split(";")]
            if parts[0] != "permessage-deflate":
                break
            params = {}
            for x in parts[1:]:
                k, _, v = x.partition("=")
                params[k.strip()] = v.strip().strip('"')
            return params
    raise BenchError("the server did not accept permessage-deflate")


def deflate_session(port, timeout=10.0):
    """A connection with permessage-deflate negotiated as a browser offers
    it (client_max_window_bits, both sides keeping context). Returns
    (round_trip, socket): ``round_trip(msg)`` sends the JSON text ``msg``
    compressed and masked, reads the echo, inflates it and checks it."""
    import zlib

    s = new_socket(timeout)
    s.connect((HOST, port))
    s.sendall(request_bytes(port).replace(b"\r\n\r\n", ("\r\n" + DEFLATE_OFFER + "\r\n").encode(), 1))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise BenchError("connection closed during the handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise BenchError("handshake refused: %r" % head[:200])
    params = _deflate_params(head)
    cbits = int(params.get("client_max_window_bits") or 15)
    ctakeover = "client_no_context_takeover" not in params
    stakeover = "server_no_context_takeover" not in params
    state = {"comp": zlib.compressobj(6, zlib.DEFLATED, -cbits), "decomp": zlib.decompressobj(-15)}
    buf = bytearray(rest)

    def round_trip(msg):
        if not ctakeover:
            state["comp"] = zlib.compressobj(6, zlib.DEFLATED, -cbits)
        comp = state["comp"]
        body = (comp.compress(msg) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]
        n = len(body)
        # FIN + RSV1 + text; masked with a zero key (XOR leaves it as is).
        hdr = bytes((0xC1, 0x80 | n)) if n < 126 else bytes((0xC1, 0xFE)) + struct.pack("!H", n)
        s.sendall(hdr + b"\0\0\0\0" + body)
        while True:
            if len(buf) >= 2:
                ln, off = buf[1] & 0x7F, 2
                if ln == 126 and len(buf) >= 4:
                    ln, off = struct.unpack_from("!H", buf, 2)[0], 4
                if ln < 126 or off == 4:
                    if len(buf) >= off + ln:
                        break
            chunk = s.recv(65536)
            if not chunk:
                raise BenchError("connection closed")
            buf.extend(chunk)
        b0 = buf[0]
        payload = bytes(buf[off:off + ln])
        del buf[:off + ln]
        if b0 & 0x0F != 1 or not b0 & 0x80:
            raise BenchError("unexpected frame 0x%02x" % b0)
        if b0 & 0x40:
            if not stakeover:
                state["decomp"] = zlib.decompressobj(-15)
            payload = state["decomp"].decompress(payload + b"\0\0\xff\xff")
        if payload != msg:
            raise BenchError("bad echo")

    round_trip.params = params
    return round_trip, s


def pingpong_deflate(args):
    """One connection with permessage-deflate negotiated as a browser does,
    one JSON text message of ``--size`` bytes in flight (200 distinct ones
    from json_corpus, cycled); each echo is inflated and compared. Server
    CPU per round trip covers its inflate of the request and deflate of the
    reply."""
    from json_corpus import sized_message

    msgs = [sized_message(args.size, i) for i in range(200)]
    round_trip, s = deflate_session(args.port)

    def loop(duration):
        rounds, t0 = 0, time.perf_counter()
        stop = t0 + duration
        while True:
            for _ in range(8):
                round_trip(msgs[rounds % len(msgs)])
                rounds += 1
            now = time.perf_counter()
            if now >= stop:
                return rounds, now - t0

    try:
        loop(0.2)  # warm-up
        cpu0, own0 = server_cpu(args.server_pid), time.process_time()
        rounds, secs = loop(args.duration)
        cpu, own = server_cpu(args.server_pid) - cpu0, time.process_time() - own0
    finally:
        s.close()
    return {"rate": rounds / secs, "unit": "round trips/s", "ops": rounds, "seconds": secs,
            "server_cpu_us": cpu / rounds * 1e6, "client_cpu_us": own / rounds * 1e6,
            "negotiated": round_trip.params}


def many(args):
    """``--conns`` connections, each with one message in flight: every
    echo that arrives sends that connection's next message. Messages per
    second and the server's CPU per message over ``--duration`` seconds."""
    payload = os.urandom(args.size)
    out = wsfast.FrameEncoder(client=True).encode(wsfast.OP_BINARY, payload)
    expect = wsfast.FrameEncoder(client=False).encode(wsfast.OP_BINARY, payload)
    n = len(expect)
    socks = {}
    deadline = time.monotonic() + args.timeout
    try:
        for i in range(args.conns):
            s, rest = ws_connect(args.port, check_accept=(i == 0))
            if i == 0:
                echo_once(s, payload, rest)  # verified with the parser once
            elif rest:
                raise BenchError("bytes after the 101")
            s.setblocking(False)
            socks[s.fileno()] = s
            if time.monotonic() > deadline:
                raise BenchError("opened only %d of %d connections in %ds" % (i + 1, args.conns, args.timeout))
        ep = select.epoll()
        for fd in socks:
            ep.register(fd, select.EPOLLIN)

        def run(duration):
            pending = dict.fromkeys(socks, 0)  # bytes of the echo in flight received so far
            for s in socks.values():
                s.send(out)
            count, t0 = 0, time.perf_counter()
            stop = t0 + duration
            while pending:
                if time.perf_counter() > stop + args.timeout:
                    raise BenchError("echoes stopped with %d in flight" % len(pending))
                sending = time.perf_counter() < stop  # then only drain what is in flight
                for fd, _ in ep.poll(0.5):
                    if fd not in pending:
                        continue
                    data = socks[fd].recv(65536)
                    if not data:
                        raise BenchError("connection closed")
                    k = pending[fd] + len(data)
                    if k > n or (len(data) == n and data != expect):
                        raise BenchError("unexpected echo (%d bytes)" % len(data))
                    if k < n:
                        pending[fd] = k
                        continue
                    count += 1
                    if sending:
                        pending[fd] = 0
                        socks[fd].send(out)
                    else:
                        del pending[fd]
            return count, time.perf_counter() - t0

        run(0.3)  # warm-up
        cpu0, own0 = server_cpu(args.server_pid), time.process_time()
        count, secs = run(args.duration)
        cpu, own = server_cpu(args.server_pid) - cpu0, time.process_time() - own0
        ep.close()
    finally:
        for s in socks.values():
            s.close()
    return {"rate": count / secs, "unit": "messages/s", "ops": count, "seconds": secs,
            "server_cpu_us": cpu / count * 1e6, "client_cpu_us": own / count * 1e6}


SCENARIOS = {"pingpong": pingpong, "burst": burst, "idle": idle, "handshakes": handshakes,
             "pingpong-deflate": pingpong_deflate, "many": many}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--raw", action="store_true", help="pingpong: raw TCP, no WebSocket")
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--size", type=int, default=None, help="message size (256 pingpong, 1024 burst)")
    p.add_argument("--messages", type=int, default=10000)
    p.add_argument("--bursts", type=int, default=3)
    p.add_argument("--conns", type=int, default=5000)
    p.add_argument("--batch", type=int, default=64, help="idle: handshakes in flight")
    p.add_argument("--settle", type=float, default=1.0, help="idle: seconds before the RSS reading")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--browser-headers", action="store_true",
                   help="upgrade requests carry a browser's usual headers (default: the 5 required)")
    args = p.parse_args(argv)
    if args.browser_headers:
        global EXTRA_HEADERS
        EXTRA_HEADERS = BROWSER_HEADERS
    if args.size is None:
        args.size = 1024 if args.scenario == "burst" else 256
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from servers import raise_nofile

    raise_nofile()
    try:
        result = SCENARIOS[args.scenario](args)
    except (BenchError, OSError) as exc:
        result = {"error": "%s: %s" % (type(exc).__name__, exc)}
    print(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
