"""Writing as fast as the peer takes it, on many sockets, for a bounded
time."""

import select
import struct
import time


class Flood:
    """Sends ``block`` (whole frames) over and over on every socket, never
    blocking, for at most ``duration`` seconds; with ``read=True`` it also
    reads what comes back (kept in ``received``), else it never reads.

    After ``run()``: ``sent[s]`` bytes accepted by the kernel, ``last[s]``
    the time of the last progress, ``dead[s]`` when the socket failed or
    saw EOF (seconds from the start)."""

    def __init__(self, socks, block, duration, read=False, max_bytes=None, stop=None):
        self.socks = list(socks)
        self.block = memoryview(block)
        self.duration = duration
        self.read = read
        self.max_bytes = max_bytes
        self.stop = stop  # callable(flood) -> True to end early
        self.sent = {s: 0 for s in self.socks}
        self.received = {s: bytearray() for s in self.socks}
        self.last = {}
        self.dead = {}
        self.eof = set()

    def run(self):
        block, n = self.block, len(self.block)
        offset = {s: 0 for s in self.socks}
        by_fd = {}
        for s in self.socks:
            s.setblocking(False)
            by_fd[s.fileno()] = s
        poller = select.poll()
        if self.read:
            for fd in by_fd:
                poller.register(fd, select.POLLIN)
        t0 = self.t0 = time.monotonic()
        for s in self.socks:
            self.last[s] = 0.0
        end = t0 + self.duration
        while True:
            now = time.monotonic()
            if now >= end or len(self.dead) == len(self.socks):
                break
            if self.stop is not None and self.stop(self):
                break
            progressed = False
            for s in self.socks:
                if s in self.dead:
                    continue
                if self.max_bytes is not None and self.sent[s] >= self.max_bytes:
                    continue
                try:
                    k = s.send(block[offset[s]:])
                except BlockingIOError:
                    continue
                except OSError:
                    self.dead[s] = time.monotonic() - t0
                    continue
                progressed = True
                self.sent[s] += k
                offset[s] = (offset[s] + k) % n
                self.last[s] = time.monotonic() - t0
            if self.read:
                for fd, _ in poller.poll(0 if progressed else 2):
                    s = by_fd[fd]
                    try:
                        data = s.recv(262144)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self.eof.add(s)
                        self.dead.setdefault(s, time.monotonic() - t0)
                        poller.unregister(fd)
                    else:
                        self.received[s] += data
            elif not progressed:
                time.sleep(0.002)
        self.elapsed = time.monotonic() - t0
        return self

    def elapsed_now(self):
        return time.monotonic() - self.t0

    def stalled_now(self, s, quiet):
        return s not in self.dead and self.elapsed_now() - self.last[s] >= quiet

    def stalled(self, s, quiet=1.0):
        """True if ``s`` took no byte during the last ``quiet`` seconds."""
        return s not in self.dead and self.elapsed - self.last[s] >= quiet


def server_frames(data):
    """Parses unmasked frames: [(fin, rsv1, opcode, payload)], complete ones only."""
    frames, pos, n = [], 0, len(data)
    while pos + 2 <= n:
        b0, b1 = data[pos], data[pos + 1]
        length, head = b1 & 0x7F, 2
        if length == 126:
            if pos + 4 > n:
                break
            length, head = struct.unpack_from("!H", data, pos + 2)[0], 4
        elif length == 127:
            if pos + 10 > n:
                break
            length, head = struct.unpack_from("!Q", data, pos + 2)[0], 10
        if pos + head + length > n:
            break
        frames.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, bytes(data[pos + head:pos + head + length])))
        pos += head + length
    return frames


def close_code(frames):
    """The code of the first close frame in ``frames`` (1005 if it has
    none, None if there is no close frame)."""
    for _, _, opcode, payload in frames:
        if opcode == 8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
    return None
