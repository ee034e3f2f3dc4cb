"""Close abuse and "last words" on the epoll echo server."""

import struct
import time

from hostile import (OP_CLOSE, OP_TEXT, Measure, RawWS, close_frame, frame)

CLOSE_TIMEOUT = 1.0


def _close_code(f):
    if f is None or f[2] != OP_CLOSE:
        return None
    return struct.unpack("!H", f[3][:2])[0] if len(f[3]) >= 2 else 1005


CASES = [
    # (name, bytes sent in one write, expected close code from the server)
    *[("code %d" % c, close_frame(c), 1002) for c in (0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535)],
    ("1-byte close payload", frame(OP_CLOSE, b"\x03"), 1002),
    ("reason not UTF-8", close_frame(1000, b"\xff\xfe bad"), 1007),
    ("126-byte close frame", frame(OP_CLOSE, struct.pack("!H", 1000) + b"r" * 124), 1002),
    ("fragmented close", frame(OP_CLOSE, struct.pack("!H", 1000), fin=False), 1002),
    ("data after close", close_frame(1000) + frame(OP_TEXT, b"after close"), 1000),
    ("two close frames", close_frame(1000, b"one") + close_frame(1001, b"two"), 1000),
]


def test_close_abuse(start_server):
    """Bad close codes and reasons, data after close and two close frames:
    one close frame back with the right code, nothing echoed after the
    close, TCP closed by the server within close_timeout; and a client
    that completes the close handshake but never closes TCP is cut off.
    10 connections per case."""
    server = start_server(options=dict(close_timeout=CLOSE_TIMEOUT))
    per_case = 10
    wrong = []
    lingerers = 0
    with Measure("close abuse", server) as m:
        for name, data, expected in CASES:
            conns = [RawWS(server.port) for _ in range(per_case)]
            for ws in conns:
                ws.send(data)
            for ws in conns:
                frames = ws.read_until_eof(timeout=CLOSE_TIMEOUT + 2)
                codes = [_close_code(f) for f in frames]
                closes = [c for c in codes if c is not None]
                if (closes != [expected] or frames[-1] is not None and frames[-1][2] != OP_CLOSE
                        or None in frames):
                    wrong.append((name, [(f[2], bytes(f[3][:20])) if f else "(no EOF)" for f in frames]))
                ws.close()
        # Close handshake done, TCP kept open: the server must close it.
        conns = [RawWS(server.port) for _ in range(per_case)]
        t0 = time.monotonic()
        for ws in conns:
            ws.send(close_frame(1000))
        for ws in conns:
            frames = ws.read_until_eof(timeout=CLOSE_TIMEOUT + 2)
            if not frames or frames[-1] is not None and _close_code(frames[-1]) != 1000:
                wrong.append(("close, then keep TCP open", frames))
            lingerers += frames[-1:] == [None]
        linger_s = time.monotonic() - t0
        for ws in conns:
            ws.close()
    m.report(cases=len(CASES) + 1, connections=(len(CASES) + 1) * per_case, wrong=len(wrong),
             left_open=lingerers, close_then_linger_s=round(linger_s, 2))
    assert not wrong, wrong[:5]
    assert lingerers == 0, "server kept TCP open after the close handshake"
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)


MESSAGE = "last words: " + "é" * 10 + " the end"


def _last_words(port, tls, split):
    """Sends a text message and a close frame, in one write (split None)
    or two (cut at ``split``); returns what came back."""
    data = frame(OP_TEXT, MESSAGE.encode()) + close_frame(1000, b"bye")
    ws = RawWS(port, tls=tls)
    try:
        if split is None:
            ws.send(data)
        else:
            ws.send(data[:split])
            time.sleep(0.003)
            ws.send(data[split:])
        return ws.read_until_eof(timeout=3)
    finally:
        ws.close()


def _check_last_words(frames):
    """None if the echo came before the close frame (1000) and then EOF."""
    ok = (len(frames) == 2 and frames[0] is not None and frames[0][2] == OP_TEXT
          and frames[0][3] == MESSAGE.encode() and _close_code(frames[1]) == 1000)
    return None if ok else [(f[2], bytes(f[3][:24])) if f else "(timeout)" for f in frames]


def _run_last_words(server, name, tls):
    total = len(frame(OP_TEXT, MESSAGE.encode()) + close_frame(1000, b"bye"))
    bad = {}
    with Measure(name, server) as m:
        for split in [None] + list(range(1, total)):
            got = _check_last_words(_last_words(server.port, tls, split))
            if got is not None:
                bad["one write" if split is None else "split %d" % split] = got
    m.report(writes=total, wrong=len(bad), first_wrong=next(iter(bad.items()), None))
    assert not bad, "message lost or after the close frame: %s" % bad
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)


def test_last_words(start_server):
    """A text message and a close frame in one write, then split at every
    byte boundary across two writes: the echo must come back before the
    server's close frame."""
    _run_last_words(start_server(), "last words (message + close in one write)", tls=False)


def test_last_words_tls(start_server, cert):
    """The same over TLS (each write its own TLS record)."""
    _run_last_words(start_server(tls=list(cert)), "last words over TLS", tls=True)
