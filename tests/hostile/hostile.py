"""Helpers for the hostile-input suite: server processes, process memory
and descriptor accounting, a well-behaved probe client, raw WebSocket
frames and reports.

Every server under attack is a separate process (``roles.py server``)
started with the interpreter running the tests, so its RSS and open
descriptors are its own, and the suite tests whichever wsfast that
interpreter imports.
"""

import base64
import json
import os
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = os.path.join(HERE, "roles.py")
MIB = 1024 * 1024
KIB = 1024

#: Every report of the session, in order (conftest prints them as a table).
REPORTS = []


# -- processes -------------------------------------------------------------------


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat[stat.rindex(b")") + 2:].split()[1])


def descendants(pid):
    """``pid`` and every live process below it."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            ppid = _ppid(int(name))
            if ppid is not None:
                parents.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(parents.get(p, ()))
    return found


def alive(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] not in (b"Z", b"X")


def _status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pids):
    return sum(_status_kib(p, "VmRSS:") for p in pids)


def hwm_kib(pids):
    return sum(_status_kib(p, "VmHWM:") for p in pids)


def fd_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return n


class Sampler(threading.Thread):
    """Samples the summed RSS of a process tree every ``interval`` seconds
    and keeps the peak (the tree is re-read every 20 samples)."""

    def __init__(self, pid, interval=0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self):
        pids, n = descendants(self.pid), 0
        while not self._stop_event.is_set():
            n += 1
            if n % 20 == 0:
                pids = descendants(self.pid)
            self.peak = max(self.peak, rss_kib(pids))
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(5)
        self.peak = max(self.peak, rss_kib(descendants(self.pid)))
        return self.peak


class Proc:
    """A child process of the test run, started with this interpreter; it
    prints one ``READY <json>`` line when it is ready. Stopped (SIGTERM,
    then SIGKILL), by its own PID only, by ``stop()``."""

    def __init__(self, args, ready_timeout=20, stdin=False):
        self.args = args
        self.popen = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True)
        self.pid = self.popen.pid
        self.info = self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        out = self.popen.stdout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([out], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = out.readline()
            if not line:
                break
            if line.startswith("READY "):
                return json.loads(line[6:])
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            err = self.popen.communicate(timeout=5)[1]
        except (OSError, ValueError, subprocess.TimeoutExpired):
            err = ""
        self.stop()
        raise RuntimeError("%s did not start:\n%s" % (" ".join(self.args), err[-3000:]))

    def stop(self, timeout=10):
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        for stream in (self.popen.stdout, self.popen.stderr, self.popen.stdin):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class Server(Proc):
    """``roles.py server``: kind "epoll" (an echo Server) or "asyncio"
    (``wsfast.asyncio.serve``; path /echo echoes, any other path gets a
    handler that never calls recv). ``options`` go to the constructor."""

    def __init__(self, kind="epoll", options=None, tls=None):
        spec = dict(kind=kind, options=options or {}, tls=tls)
        super().__init__([ROLES, "server", json.dumps(spec)])
        self.port = self.info["port"]
        self.tls = tls

    def tree(self):
        return descendants(self.pid)

    def rss_kib(self):
        return rss_kib(self.tree())

    def fds(self):
        return fd_count(self.tree())

    def url(self, path="/"):
        return "%s://127.0.0.1:%d%s" % ("wss" if self.tls else "ws", self.port, path)


def settle_fds(pids_fn, target, timeout=6.0):
    """Polls the descriptor count until it is at most ``target`` (or the
    timeout passes); returns the last count."""
    deadline = time.monotonic() + timeout
    while True:
        n = fd_count(pids_fn())
        if n <= target or time.monotonic() >= deadline:
            return n
        time.sleep(0.05)


# -- the good client ---------------------------------------------------------------


class Probe(Proc):
    """``roles.py probe``: a separate process doing echo round trips of a
    small message every ``interval`` seconds until told to stop; reports
    latencies and failures (a timeout or a lost connection, after which it
    reconnects)."""

    def __init__(self, url, interval=0.01, timeout=2.0):
        super().__init__([ROLES, "probe", url, str(interval), str(timeout)], stdin=True)

    def finish(self, timeout=15):
        try:
            self.popen.stdin.write("stop\n")
            self.popen.stdin.flush()
        except OSError:
            pass
        try:
            out, err = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            out, err = self.popen.communicate(5)
        for line in out.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        raise RuntimeError("probe gave no result:\n%s" % err)


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q / 100.0 * (len(values) - 1)))))
    return values[k]


# -- measuring an attack -------------------------------------------------------------


class Measure:
    """Wraps an attack on ``target`` (a Server or Proc): baseline RSS and
    descriptors after the good client connected, peak RSS during the
    attack, RSS and (settled) descriptors after it.

        with Measure("slowloris", server) as m:
            ...attack; close the attack's sockets...
        m.report(dropped=300)          # prints one line, records it
    """

    def __init__(self, name, target, probe=True, probe_path="/", fd_target=None):
        self.name, self.target = name, target
        self.use_probe = probe
        self.probe_path = probe_path
        self.fd_target = fd_target
        self.probe_result = None
        self.figures = {}

    def tree(self):
        return descendants(self.target.pid)

    def __enter__(self):
        # Descriptors are counted before the good client connects (its
        # connection is gone again when they are counted after).
        self.fds_before = fd_count(self.tree())
        self.probe = Probe(self.target.url(self.probe_path)) if self.use_probe else None
        time.sleep(0.1)
        self.rss_before = rss_kib(self.tree())
        self.sampler = Sampler(self.target.pid)
        self.sampler.start()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.duration = time.monotonic() - self.t0
        if self.probe is not None:
            try:
                self.probe_result = self.probe.finish()
            except Exception as e:  # reported, and fails the checks below
                self.probe_result = {"latencies": [], "failures": -1, "error": str(e)}
        self.rss_peak = self.sampler.stop()
        self.rss_after = rss_kib(self.tree())
        target = self.fds_before if self.fd_target is None else self.fd_target
        self.fds_after = settle_fds(self.tree, target) if alive(self.target.pid) else 0
        return False

    # figures, in MiB and ms
    @property
    def growth_mib(self):
        return (self.rss_peak - self.rss_before) / 1024.0

    @property
    def end_growth_mib(self):
        return (self.rss_after - self.rss_before) / 1024.0

    @property
    def latencies(self):
        return (self.probe_result or {}).get("latencies", [])

    @property
    def p50_ms(self):
        p = percentile(self.latencies, 50)
        return None if p is None else p * 1000

    @property
    def p99_ms(self):
        p = percentile(self.latencies, 99)
        return None if p is None else p * 1000

    @property
    def failures(self):
        return (self.probe_result or {}).get("failures", 0)

    def report(self, **figures):
        self.figures.update(figures)
        entry = dict(
            attack=self.name,
            rss_before_mib=round(self.rss_before / 1024.0, 1),
            rss_peak_growth_mib=round(self.growth_mib, 1),
            rss_end_growth_mib=round(self.end_growth_mib, 1),
            fds_before=self.fds_before,
            fds_after=self.fds_after,
            probe_n=len(self.latencies) if self.use_probe else None,
            p50_ms=None if self.p50_ms is None else round(self.p50_ms, 2),
            p99_ms=None if self.p99_ms is None else round(self.p99_ms, 2),
            failures=self.failures if self.use_probe else None,
            seconds=round(self.duration, 2),
            figures=self.figures,
        )
        REPORTS.append(entry)
        print(format_line(entry))
        return entry

    def check(self, rss_mib=None, p99_ms=None, failures=0, fd_slack=0):
        """The common assertions, all evaluated, failing with every figure."""
        problems = []
        if rss_mib is not None and self.growth_mib >= rss_mib:
            problems.append("RSS grew by %.1f MiB (bound %s MiB)" % (self.growth_mib, rss_mib))
        if self.use_probe:
            if self.probe_result.get("error"):
                problems.append("good client: %s" % self.probe_result["error"])
            if not self.latencies:
                problems.append("good client got no answer")
            elif p99_ms is not None and self.p99_ms >= p99_ms:
                problems.append("good client p99 %.1f ms (bound %s ms)" % (self.p99_ms, p99_ms))
            if failures is not None and self.failures > failures:
                problems.append("good client failures: %d" % self.failures)
        if fd_slack is not None and self.fds_after > self.fds_before + fd_slack:
            problems.append("descriptors %d -> %d" % (self.fds_before, self.fds_after))
        assert not problems, "%s: %s" % (self.name, "; ".join(problems))


def format_line(e):
    def ms(v):
        return "-" if v is None else "%.1f" % v
    extra = " ".join("%s=%s" % kv for kv in e["figures"].items())
    probe = ("good client p50 %s ms p99 %s ms n=%s fail=%s" % (ms(e["p50_ms"]), ms(e["p99_ms"]),
             e["probe_n"], e["failures"])) if e["probe_n"] is not None else "no good client"
    return "HOSTILE %s: rss +%.1f MiB peak (+%.1f end), fds %d->%d, %s, %.1f s | %s" % (
        e["attack"], e["rss_peak_growth_mib"], e["rss_end_growth_mib"], e["fds_before"],
        e["fds_after"], probe, e["seconds"], extra)


# -- raw WebSocket -------------------------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def xor_mask(data, key):
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(opcode, payload=b"", fin=True, rsv1=False, mask=True, length=None):
    """One frame; masked (a client's) unless ``mask=False``. ``length``
    overrides the declared payload length (for truncated frames)."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + xor_mask(payload, key)


def close_frame(code=None, reason=b"", mask=True):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return frame(OP_CLOSE, payload, mask=mask)


def deflate_raw(data):
    """A permessage-deflate payload (RFC 7692 7.2.1): raw deflate, sync
    flushed, without the trailing 00 00 ff ff."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def upgrade_request(path="/", extensions=None, extra_headers=()):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if extensions:
        lines.append("Sec-WebSocket-Extensions: " + extensions)
    lines.extend(extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_head(sock, limit=1 << 16):
    """(head, rest) once the peer's HTTP head is complete; head is b"" if
    the peer closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", data
        data += chunk
        if len(data) > limit:
            raise AssertionError("HTTP head over %d bytes" % limit)
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def tls_client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RawWS:
    """A client socket past the upgrade, speaking raw frames."""

    def __init__(self, port, path="/", extensions=None, tls=False, timeout=5, host="127.0.0.1"):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            sock = tls_client_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        sock.sendall(upgrade_request(path, extensions))
        head, self.buf = read_head(sock)
        if not head.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise AssertionError("upgrade refused: %r" % head[:200])
        self.head = head.decode("latin-1")
        self.extensions = ""
        for line in self.head.split("\r\n"):
            if line.lower().startswith("sec-websocket-extensions:"):
                self.extensions = line.split(":", 1)[1].strip()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def read_frame(self, timeout=5):
        """(fin, rsv1, opcode, payload); EOFError when the peer closed."""
        self.sock.settimeout(timeout)
        while True:
            buf = self.buf
            if len(buf) >= 2:
                n = buf[1] & 0x7F
                pos = 2
                if n == 126 and len(buf) >= 4:
                    n, pos = struct.unpack("!H", buf[2:4])[0], 4
                elif n == 127 and len(buf) >= 10:
                    n, pos = struct.unpack("!Q", buf[2:10])[0], 10
                if (buf[1] & 0x7F) < 126 or pos > 2:
                    if len(buf) >= pos + n:
                        self.buf = buf[pos + n:]
                        return bool(buf[0] & 0x80), bool(buf[0] & 0x40), buf[0] & 0x0F, buf[pos:pos + n]
            self._fill()

    def read_until_eof(self, timeout=5):
        """Every frame until the peer closes TCP (or ``timeout``: then
        the list ends with None)."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                frames.append(None)
                return frames
            try:
                frames.append(self.read_frame(left))
            except (socket.timeout, TimeoutError):
                frames.append(None)
                return frames
            except (EOFError, OSError):  # includes resets and TLS EOFs
                return frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_closed_by_peer(socks, timeout):
    """Waits until the peer closed each socket (EOF or reset); returns
    {sock: seconds until closed} for those that were closed in time.
    Bytes the peer sent first are read and dropped."""
    t0 = time.monotonic()
    open_ = {s.fileno(): s for s in socks}
    closed = {}
    poller = select.poll()
    for fd in open_:
        poller.register(fd, select.POLLIN)
    while open_ and time.monotonic() - t0 < timeout:
        for fd, _ in poller.poll(100):
            s = open_.get(fd)
            if s is None:
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed[s] = time.monotonic() - t0
                poller.unregister(fd)
                del open_[fd]
    return closed


def make_cert(directory):
    """A throwaway self-signed certificate for localhost (openssl CLI)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=30)
    return cert, key
