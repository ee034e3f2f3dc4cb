"""A load-client process: many WebSocket connections on one epoll loop.

    python -m benchmarks.scale.client --port P --sources 127.0.0.2,... --index I

It is deliberately light, so that 100,000 connections fit beside the
server on two cores: non-blocking sockets, one level-triggered epoll, a
fixed handshake request (no per-connection key: the client only measures
the server), and wsfast's C codec (``FrameParser(server=False)`` to read,
``FrameEncoder(client=True)`` to send masked frames).

It reads commands from stdin, one JSON object a line, and answers each
on stdout with one JSON line:

- ``connect n concurrency timeout``: open n more connections, at most
  ``concurrency`` handshakes in flight; answers counts and the time taken.
- ``expect tag timeout``: wait until every reading connection has received
  broadcast ``tag``; answers the latencies (receive time minus the target
  instant carried in the message), base64 of native doubles.
- ``stall`` / ``unstall``: the slow connections stop / resume reading.
- ``churn count concurrency timeout``: connect, complete the handshake,
  close (close handshake, then wait for the server's FIN) ``count`` times.
- ``close_all timeout``, ``stats``, ``quit``.

Every loop is bounded by a deadline. A connection is "slow" when its
global number is a multiple of ``--slow-every``: it gets a small SO_RCVBUF
before connecting and tells the server "slow" once open, so that the
server can aim a pressure stream at it.
"""

import argparse
import array
import base64
import errno
import json
import os
import select
import socket
import struct
import sys
import time

import wsfast

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from benchmarks.scale.procs import raise_nofile  # noqa: E402

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
EPOLLIN, EPOLLOUT = select.EPOLLIN, select.EPOLLOUT
CONNECTING, HANDSHAKE, OPEN, CLOSING = range(4)
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING = wsfast.OP_TEXT, wsfast.OP_BINARY, wsfast.OP_CLOSE, wsfast.OP_PING
OP_PONG = wsfast.OP_PONG
STAMP = struct.Struct("<ddI")  # target instant, worker's send instant, tag

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key, and its answer:
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
SLOW_RCVBUF = 4096


def request(host, port):
    return (b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (host.encode(), port, KEY))


class Conn:
    __slots__ = ("sock", "state", "buf", "parser", "slow", "stalled", "since", "close_sent", "churn")

    def __init__(self, sock, slow, churn, now):
        self.sock = sock
        self.state = CONNECTING
        self.buf = b""
        self.parser = None
        self.slow = slow
        self.stalled = False
        self.since = now
        self.close_sent = False
        self.churn = churn


class Client:
    def __init__(self, host, port, sources, index, slow_every, poll_interval=0.0):
        self.poll_interval = poll_interval
        self.batch = 0
        self.host, self.port = host, port
        self.sources = sources
        self.index = index
        self.slow_every = slow_every
        self.request = request(host, port)
        self.encoder = wsfast.FrameEncoder(client=True)
        self.ep = select.epoll()
        self.conns = {}  # fd -> Conn
        self.serial = 0  # connections started by this process
        self.n_procs = 1
        self.inflight = 0
        self.opened = 0
        self.failed = 0
        self.finished = 0  # churn connections fully closed
        self.churn_live = 0  # churn connections not yet finished
        self.server_closed = 0  # an open connection the server ended
        self.errors = {}
        self.got = {}  # tag -> array of latencies (receive - target)
        self.got_sent = {}  # tag -> array of (receive - worker's send instant)
        self.stalled = False
        self.ep.register(0, EPOLLIN)
        self.stdin = b""
        self.running = True

    # -- connections ----------------------------------------------------------

    def _error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    def start_one(self, churn=False):
        n = self.serial * self.n_procs + self.index  # global number
        self.serial += 1
        slow = (not churn) and self.slow_every > 0 and n % self.slow_every == 0
        src = self.sources[self.serial % len(self.sources)]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            if slow:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
            s.bind((src, 0))
            err = s.connect_ex((self.host, self.port))
        except OSError as exc:
            s.close()
            self._error(errno.errorcode.get(exc.errno, str(exc.errno)))
            self.failed += 1
            return
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self._error(errno.errorcode.get(err, str(err)))
            self.failed += 1
            return
        if churn:
            self.churn_live += 1
        c = Conn(s, slow, churn, time.monotonic())
        self.conns[s.fileno()] = c
        self.ep.register(s.fileno(), EPOLLOUT)
        self.inflight += 1

    def _drop(self, fd, c, why=None):
        """Forget a connection (closing its socket)."""
        if c.state < OPEN:
            self.inflight -= 1
            self.failed += 1
        if c.churn:
            self.churn_live -= 1
        if why:
            self._error(why)
        del self.conns[fd]
        try:
            self.ep.unregister(fd)
        except OSError:
            pass
        c.sock.close()

    def _opened(self, fd, c):
        c.state = OPEN
        self.inflight -= 1
        self.opened += 1
        c.parser = wsfast.FrameParser(False)
        rest = c.buf
        c.buf = b""
        if c.churn:
            self._send_close(fd, c)
        elif c.slow:
            try:
                c.sock.send(self.encoder.encode(OP_TEXT, b"slow"))
            except OSError:
                self._closed_by_server(fd, c, "send slow")
                return
            if self.stalled:
                self._stall(fd, c)
        if rest and fd in self.conns:
            self._frames(fd, c, rest, time.monotonic())

    def _send_close(self, fd, c):
        if c.close_sent:
            return
        c.close_sent = True
        c.state = CLOSING
        c.since = time.monotonic()
        try:
            c.sock.send(self.encoder.encode(OP_CLOSE, b"\x03\xe8"))
        except OSError:
            self._drop(fd, c, "send close")

    def _stall(self, fd, c):
        c.stalled = True
        self.ep.modify(fd, 0)

    # -- events ---------------------------------------------------------------------

    def pump(self, timeout):
        """Handle one batch of events; True if stdin has a command."""
        conns = self.conns
        command = False
        events = self.ep.poll(timeout, 4096)
        self.batch = len(events)
        for fd, ev in events:
            c = conns.get(fd)
            if c is None:
                if fd == 0:
                    command = True
                continue
            st = c.state
            if st == OPEN or st == CLOSING:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    self._closed_by_server(fd, c, errno.errorcode.get(exc.errno, "recv"))
                    continue
                if not data:
                    self._closed_by_server(fd, c, None)
                    continue
                self._frames(fd, c, data, time.monotonic())
            elif st == CONNECTING:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self._drop(fd, c, errno.errorcode.get(err, str(err)))
                    continue
                try:
                    c.sock.send(self.request)
                except OSError as exc:
                    self._drop(fd, c, errno.errorcode.get(exc.errno, "send"))
                    continue
                c.state = HANDSHAKE
                self.ep.modify(fd, EPOLLIN)
            else:  # HANDSHAKE
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    self._drop(fd, c, errno.errorcode.get(exc.errno, "recv"))
                    continue
                if not data:
                    self._drop(fd, c, "EOF in handshake")
                    continue
                buf = c.buf + data
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > 8192:
                        self._drop(fd, c, "handshake too long")
                    else:
                        c.buf = buf
                    continue
                head = buf[:end]
                if not head.startswith(b"HTTP/1.1 101") or ACCEPT not in head:
                    self._drop(fd, c, "status " + head[9:12].decode("latin-1"))
                    continue
                c.buf = buf[end + 4:]
                self._opened(fd, c)
        return command

    def _frames(self, fd, c, data, now):
        try:
            frames = c.parser.feed(data)
        except wsfast.ProtocolError:
            self._drop(fd, c, "protocol error")
            return
        for opcode, payload, _fin, _rsv1 in frames:
            if opcode == OP_BINARY:
                if len(payload) >= STAMP.size:
                    at, sent, tag = STAMP.unpack_from(payload)
                    lat = self.got.get(tag)
                    if lat is None:
                        lat = self.got[tag] = array.array("d")
                        self.got_sent[tag] = array.array("d")
                    lat.append(now - at)
                    self.got_sent[tag].append(now - sent)
            elif opcode == OP_PING:
                if not c.close_sent:
                    c.sock.send(self.encoder.encode(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                if not c.close_sent:
                    self._send_close(fd, c)  # echo; the server then ends TCP
                    if fd not in self.conns:
                        return

    def _closed_by_server(self, fd, c, why):
        if c.churn:
            self.finished += 1
        elif not c.close_sent:
            self.server_closed += 1
            if why:
                self._error(why)
        self._drop(fd, c)

    def _expire(self, timeout):
        """Give up on connections stuck in a handshake or a close."""
        now = time.monotonic()
        for fd, c in list(self.conns.items()):
            if c.state != OPEN and now - c.since > timeout:
                self._drop(fd, c, "timeout in state %d" % c.state)

    # -- commands -------------------------------------------------------------------------

    def cmd_connect(self, n, concurrency=256, timeout=120.0):
        t0 = time.monotonic()
        deadline = t0 + timeout
        target_open = self.opened + n
        started = 0
        failed0 = self.failed
        next_sweep = t0 + 1.0
        while time.monotonic() < deadline:
            while self.inflight < concurrency and started < n:
                self.start_one()
                started += 1
            if started >= n and self.inflight == 0:
                break
            self.pump(0.05)
            now = time.monotonic()
            if now >= next_sweep:
                self._expire(15.0)
                next_sweep = now + 1.0
        self._expire(0.0)  # what is still connecting at the deadline failed
        return {"opened": self.open_count(), "new_open": self.opened - (target_open - n),
                "failed": self.failed - failed0, "seconds": time.monotonic() - t0,
                "errors": self.errors}

    def open_count(self):
        return sum(1 for c in self.conns.values() if c.state == OPEN)

    def cmd_expect(self, tag, timeout=10.0):
        t0 = time.monotonic()
        readers = sum(1 for c in self.conns.values() if c.state == OPEN and not c.stalled)
        deadline = t0 + timeout
        pace = self.poll_interval
        while len(self.got.get(tag, ())) < readers and time.monotonic() < deadline:
            self.pump(0.02)
            if pace and self.batch:
                # Let messages gather instead of being woken for each one:
                # on one machine every wakeup of this process is paid for
                # inside the server's send() (see README, "Client pacing").
                time.sleep(pace)
        lat = self.got.pop(tag, array.array("d"))
        sent = self.got_sent.pop(tag, array.array("d"))
        return {"tag": tag, "readers": readers, "received": len(lat),
                "lat": base64.b64encode(lat.tobytes()).decode(),
                "lat_sent": base64.b64encode(sent.tobytes()).decode(),
                "server_closed": self.server_closed}

    def cmd_stall(self):
        self.stalled = True
        n = 0
        for fd, c in self.conns.items():
            if c.slow and c.state == OPEN and not c.stalled:
                self._stall(fd, c)
                n += 1
        return {"stalled": n, "slow_total": sum(1 for c in self.conns.values() if c.slow)}

    def cmd_unstall(self):
        self.stalled = False
        n = 0
        for fd, c in self.conns.items():
            if c.stalled:
                c.stalled = False
                self.ep.modify(fd, EPOLLIN)
                n += 1
        return {"unstalled": n}

    def cmd_churn(self, count, concurrency=256, timeout=600.0):
        t0 = time.monotonic()
        deadline = t0 + timeout
        started, finished0, failed0 = 0, self.finished, self.failed
        next_sweep = t0 + 1.0
        while time.monotonic() < deadline:
            while started < count and self.churn_live < concurrency:
                self.start_one(churn=True)
                started += 1
            if started >= count and self.churn_live == 0:
                break
            self.pump(0.05)
            now = time.monotonic()
            if now >= next_sweep:
                self._expire(15.0)
                next_sweep = now + 1.0
        for fd, c in list(self.conns.items()):
            if c.churn:
                self._drop(fd, c, "churn deadline")
        return {"finished": self.finished - finished0, "failed": self.failed - failed0,
                "started": started, "seconds": time.monotonic() - t0, "errors": self.errors}

    def cmd_close_all(self, timeout=30.0):
        t0 = time.monotonic()
        for fd, c in list(self.conns.items()):
            if c.stalled:
                c.stalled = False
                self.ep.modify(fd, EPOLLIN)
            if c.state == OPEN:
                self._send_close(fd, c)
            elif fd in self.conns and c.state < OPEN:
                self._drop(fd, c)
        deadline = t0 + timeout
        while self.conns and time.monotonic() < deadline:
            self.pump(0.05)
        left = len(self.conns)
        for fd, c in list(self.conns.items()):
            self._drop(fd, c)
        return {"seconds": time.monotonic() - t0, "unclosed": left}

    def cmd_stats(self):
        states = [0, 0, 0, 0]
        for c in self.conns.values():
            states[c.state] += 1
        return {"states": states, "opened": self.opened, "failed": self.failed,
                "server_closed": self.server_closed, "errors": self.errors,
                "stalled": sum(1 for c in self.conns.values() if c.stalled)}

    # -- main loop --------------------------------------------------------------------------

    def serve(self):
        while self.running:
            if self.pump(1.0):
                chunk = os.read(0, 65536)
                if not chunk:
                    break  # the harness is gone
                self.stdin += chunk
                while b"\n" in self.stdin:
                    line, self.stdin = self.stdin.split(b"\n", 1)
                    self.handle(json.loads(line))
        for fd, c in list(self.conns.items()):
            self._drop(fd, c)

    def handle(self, cmd):
        name = cmd.pop("cmd")
        if name == "quit":
            self.running = False
            answer = {}
        elif name == "setup":
            self.n_procs = cmd["procs"]
            answer = {}
        else:
            answer = getattr(self, "cmd_" + name)(**cmd)
        answer["cmd"] = name
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sources", required=True, help="comma-separated loopback source addresses")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--slow-every", type=int, default=0)
    p.add_argument("--poll-interval", type=float, default=0.0,
                   help="while expecting a broadcast, pause this many seconds after each batch")
    args = p.parse_args(argv)
    raise_nofile()
    client = Client(args.host, args.port, args.sources.split(","), args.index, args.slow_every,
                    args.poll_interval)
    client.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
