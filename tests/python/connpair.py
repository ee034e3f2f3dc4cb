"""Helpers for the sans-I/O connection tests: open a server/client pair,
move bytes between them, and read frames off the wire independently of
either backend's parser."""

import struct

from wsfast.client_protocol import ClientConnection
from wsfast.events import Open
from wsfast.server_protocol import ServerConnection


def open_pair(impl, server=None, client=None):
    """A ServerConnection and a ClientConnection past the handshake.

    ``server`` and ``client`` are keyword options for each constructor.
    """
    s = ServerConnection(backend=impl, **(server or {}))
    c = ClientConnection("example.com", backend=impl, **(client or {}))
    c.connect()
    sev = s.receive_data(c.data_to_send())
    assert len(sev) == 1 and isinstance(sev[0], Open), sev
    cev = c.receive_data(s.data_to_send())
    assert cev == sev, (cev, sev)
    return s, c


def feed(conn, data):
    """``conn.receive_data(data)`` and every later step it leaves pending
    (Connection.next_events): all the events ``data`` completes."""
    events = conn.receive_data(data)
    while conn.events_pending():
        events += conn.next_events()
    return events


def pump(src, dst):
    """Deliver everything ``src`` queued to ``dst``; return dst's events."""
    return feed(dst, src.data_to_send())


def read_frames(data):
    """Split raw bytes into ``(fin, rsv1, opcode, payload)``, unmasking.

    Trusts its input (it is what our own encoder produced); raises
    AssertionError on leftovers.
    """
    frames = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        pos += 2
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack_from("!H", data, pos)
            pos += 2
        elif n == 127:
            (n,) = struct.unpack_from("!Q", data, pos)
            pos += 8
        key = None
        if b1 & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        payload = bytes(data[pos : pos + n])
        assert len(payload) == n, "truncated frame"
        pos += n
        if key is not None:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        frames.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, payload))
    return frames


def close_of(data):
    """(code, reason) of the single close frame in ``data``; None if the
    frame has no payload."""
    frames = read_frames(data)
    assert len(frames) == 1 and frames[0][2] == 0x8, frames
    payload = frames[0][3]
    if not payload:
        return None
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode()
