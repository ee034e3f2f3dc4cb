"""Parsing: splits, fragments, control frames, streaming and the encoder."""

import os

import pytest

from wsfast.errors import ProtocolError

from frames import MASK, frame, xor

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70000]


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("op", [1, 2])
def test_every_length_form(impl, n, op):
    payload = b"a" * n if op == 1 else os.urandom(n)
    assert impl.FrameParser(True).feed(frame(op, payload)) == [(op, payload, True, False)]


def test_one_byte_at_a_time(impl):
    data = frame(1, b"hello") + frame(9, b"ping") + frame(2, os.urandom(300)) + frame(8, b"\x03\xe8")
    whole = impl.FrameParser(True).feed(data)
    p = impl.FrameParser(True)
    got = []
    for i in range(len(data)):
        got += p.feed(data[i : i + 1])
    assert got == whole and len(got) == 4


def test_every_split_point(impl):
    data = frame(1, b"x" * 130, fin=False) + frame(10, b"pong") + frame(0, "é".encode())
    expect = [(10, b"pong", True, False), (1, b"x" * 130 + "é".encode(), True, False)]
    for cut in range(len(data) + 1):
        p = impl.FrameParser(True)
        assert p.feed(data[:cut]) + p.feed(data[cut:]) == expect, cut


def test_control_frames_interleaved(impl):
    p = impl.FrameParser(True)
    data = (frame(2, b"ab", fin=False) + frame(9, b"1") + frame(0, b"cd", fin=False)
            + frame(10, b"2") + frame(0, b"ef"))
    assert p.feed(data) == [
        (9, b"1", True, False),
        (10, b"2", True, False),
        (2, b"abcdef", True, False),
    ]
    assert not p.in_message


def test_streaming_fragments(impl):
    p = impl.FrameParser(True, reassemble=False)
    data = frame(1, b"ab", fin=False) + frame(9, b"") + frame(0, b"cd")
    assert p.feed(data) == [(1, b"ab", False, False), (9, b"", True, False), (0, b"cd", True, False)]


def test_compressed_message_keeps_rsv1(impl):
    p = impl.FrameParser(True, allow_rsv1=True)
    data = frame(1, b"\x01", fin=False, rsv=4) + frame(0, b"\x02")
    assert p.feed(data) == [(1, b"\x01\x02", True, True)]


def test_many_tiny_fragments(impl):
    p = impl.FrameParser(True)
    data = frame(2, b"", fin=False) + b"".join(frame(0, bytes([i % 256]), fin=False) for i in range(5000))
    assert p.feed(data) == []
    assert p.feed(frame(0, b"")) == [(2, bytes(i % 256 for i in range(5000)), True, False)]


def test_input_types(impl):
    data = frame(1, b"hi")
    for obj in (data, bytearray(data), memoryview(data)):
        assert impl.FrameParser(True).feed(obj) == [(1, b"hi", True, False)]


def test_payload_is_bytes_and_input_untouched(impl):
    data = bytearray(frame(2, b"secret"))
    before = bytes(data)
    (op, payload, fin, rsv1), = impl.FrameParser(True).feed(data)
    assert type(payload) is bytes and payload == b"secret"
    assert bytes(data) == before


def test_large_frame_in_pieces(impl):
    payload = os.urandom(1 << 20)
    data = frame(2, payload)
    p = impl.FrameParser(True, max_frame_size=2 << 20, max_message_size=2 << 20)
    got = []
    for i in range(0, len(data), 65536):
        got += p.feed(data[i : i + 65536])
    assert got == [(2, payload, True, False)]


# Encoder -------------------------------------------------------------------


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("op", [0, 1, 2, 8, 9, 10])
def test_encode_matches_reference(impl, op, n):
    if op >= 8 and n > 125:
        pytest.skip("control frames are short")
    payload = os.urandom(n)
    assert impl.encode_frame(op, payload) == frame(op, payload, mask=None)
    assert impl.encode_frame(op, payload, mask=MASK) == frame(op, payload)


def test_encode_flags(impl):
    assert impl.encode_frame(1, b"a", fin=False) == frame(1, b"a", fin=False, mask=None)
    assert impl.encode_frame(1, b"a", rsv1=True) == frame(1, b"a", rsv=4, mask=None)


def test_encoder_client_masks_with_random_keys(impl):
    enc = impl.FrameEncoder(True)
    frames = [enc.encode(2, b"\x00" * 8) for _ in range(3000)]  # crosses pool refills
    keys = {f[2:6] for f in frames}
    assert len(keys) > 2900  # 32-bit random keys barely ever repeat
    for f in frames:
        assert f[1] & 0x80 and xor(f[6:], f[2:6]) == b"\x00" * 8
        assert impl.FrameParser(True).feed(f) == [(2, b"\x00" * 8, True, False)]


def test_encoder_server_does_not_mask(impl):
    assert impl.FrameEncoder(False).encode(1, b"hi") == b"\x81\x02hi"


def test_encode_many(impl):
    for client in (True, False):
        enc = impl.FrameEncoder(client)
        items = [(1, b"a" * i) for i in range(0, 300, 7)] + [(2, os.urandom(70000)), (9, b"p")]
        blob = enc.encode_many(items)
        parsed = impl.FrameParser(client).feed(blob)  # a server parses client frames
        assert [(op, p) for op, p, _, _ in parsed] == items


# Whole frames (the C backend's fast path) ----------------------------------


def _mixed_stream(masked):
    """Many small whole frames of every kind the fast path takes, with the
    kinds it leaves to the general parser in between."""
    mask = MASK if masked else None
    text = "aé€𝄞".encode() * 40
    expect, parts = [], []
    for i in range(600):
        n = (0, 1, 7, 8, 9, 16, 125, 126, 255, 256, 257, 300)[i % 12]
        if i % 5 == 0:
            payload = os.urandom(n)
            parts.append(frame(2, payload, mask=mask))
            expect.append((2, payload, True, False))
        else:
            payload = (text[:n] if i % 3 else b"q" * n).decode("utf-8", "ignore").encode()
            parts.append(frame(1, payload, mask=mask))
            expect.append((1, payload, True, False))
        if i % 50 == 7:
            parts.append(frame(9, b"ping", mask=mask))
            expect.append((9, b"ping", True, False))
        if i % 70 == 3:
            parts += [frame(1, b"fr", fin=False, mask=mask), frame(10, b"", mask=mask),
                      frame(0, "ag€".encode(), mask=mask)]
            expect += [(10, b"", True, False), (1, "frag€".encode(), True, False)]
    return b"".join(parts), expect


@pytest.mark.parametrize("server", [True, False])
def test_many_whole_frames_any_split(impl, server):
    data, expect = _mixed_stream(masked=server)
    assert impl.FrameParser(server).feed(data) == expect
    for size in (65536, 1000, 37):
        p = impl.FrameParser(server)
        got = []
        for i in range(0, len(data), size):
            got += p.feed(data[i : i + size])
        assert got == expect, size
    # Unfragmented frames come out the same either way.
    mask = MASK if server else None
    whole = b"".join(frame(1 + i % 2, b"w" * i, mask=mask) for i in range(300))
    assert impl.FrameParser(server, reassemble=False).feed(whole) == \
        impl.FrameParser(server).feed(whole) == [(1 + i % 2, b"w" * i, True, False) for i in range(300)]


@pytest.mark.parametrize("n", [1, 8, 16, 125, 126, 256, 257, 300])
@pytest.mark.parametrize("server", [True, False])
def test_error_in_whole_frame_keeps_earlier_frames(impl, n, server):
    mask = MASK if server else None
    ok = [frame(1, b"ok", mask=mask), frame(2, b"\xff" * n, mask=mask)]
    for bad in (b"a" * (n - 1) + b"\xff", b"\xff" + b"a" * (n - 1), b"a" * (n - 1) + b"\xe2"):
        p = impl.FrameParser(server)
        with pytest.raises(ProtocolError) as exc:
            p.feed(b"".join(ok) + frame(1, bad, mask=mask) + frame(1, b"never", mask=mask))
        assert (exc.value.code, exc.value.reason) == (1007, "invalid UTF-8")
        assert exc.value.frames == [(1, b"ok", True, False), (2, b"\xff" * n, True, False)]
        with pytest.raises(ProtocolError) as again:  # sticky
            p.feed(frame(1, b"fine", mask=mask))
        assert again.value.code == 1007 and again.value.frames == []


def test_whole_frames_unchecked_when_compressed_or_disabled(impl):
    data = frame(1, b"\xff\xfe", rsv=4) + frame(1, b"ok")
    assert impl.FrameParser(True, allow_rsv1=True).feed(data) == [
        (1, b"\xff\xfe", True, True), (1, b"ok", True, False)]
    assert impl.FrameParser(True, validate_utf8=False).feed(frame(1, b"\xff" * 200)) == [
        (1, b"\xff" * 200, True, False)]


@pytest.mark.parametrize("n", [16, 125, 126, 300])
def test_limits_at_the_boundary(impl, n):
    data = frame(1, b"x" * n)
    assert impl.FrameParser(True, max_frame_size=n).feed(data) == [(1, b"x" * n, True, False)]
    assert impl.FrameParser(True, max_message_size=n).feed(data) == [(1, b"x" * n, True, False)]
    for kw, reason in (("max_frame_size", "frame too big"), ("max_message_size", "message too big")):
        with pytest.raises(ProtocolError) as exc:
            impl.FrameParser(True, **{kw: n - 1}).feed(frame(2, b"ok") + data)
        assert (exc.value.code, exc.value.reason) == (1009, reason)
        assert exc.value.frames == [(2, b"ok", True, False)]


def test_input_bytes_subclass(impl):
    class B(bytes):
        pass

    assert impl.FrameParser(True).feed(B(frame(1, b"hi"))) == [(1, b"hi", True, False)]


def test_encode_arguments(impl):
    enc = impl.FrameEncoder(False)
    want = frame(1, b"abc", fin=False, rsv=4, mask=None)
    assert enc.encode(1, b"abc", False, True) == want
    assert enc.encode(1, b"abc", fin=False, rsv1=True) == want
    assert enc.encode(opcode=1, payload=b"abc", fin=0, rsv1=1) == want
    assert enc.encode(2, b"") == b"\x82\x00"
    for payload in (bytearray(b"x" * 300), memoryview(b"y" * 70000)):
        assert enc.encode(2, payload) == frame(2, bytes(payload), mask=None)
    client = impl.FrameEncoder(True)
    for payload in (b"z" * 130, bytearray(b"z" * 130), memoryview(b"z" * 130)):
        f = client.encode(1, payload, rsv1=True)
        assert f[:2] == b"\xc1\xfe" and xor(f[8:], f[4:8]) == b"z" * 130


@pytest.mark.parametrize("text", ["", "hi", "a" * 126, "a" * 70000, "caf\u00e9", "\u20ac" * 50,
                                  "\U0001f600" * 40000])
def test_encode_takes_str_as_utf8(impl, text):
    """A str payload is sent as its UTF-8, the same bytes as encoding it
    first, ASCII (copied straight from the str) or not; client frames too."""
    utf8 = text.encode("utf-8")
    assert impl.FrameEncoder(False).encode(1, text) == frame(1, utf8, mask=None)
    assert impl.FrameEncoder(False).encode(1, text, fin=False) == frame(1, utf8, fin=False, mask=None)
    f = impl.FrameEncoder(True).encode(1, text)
    assert impl.FrameParser(True).feed(f) == [(1, utf8, True, False)]
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8
        impl.FrameEncoder(False).encode(1, text + "\ud800")


def test_encode_many_payload_types(impl):
    items = [(1, b"a"), (2, bytearray(b"b" * 200)), (2, memoryview(b"c" * 70000)), (9, b"")]
    for client in (False, True):
        blob = impl.FrameEncoder(client).encode_many(iter(items))
        assert [(op, p) for op, p, _, _ in impl.FrameParser(client).feed(blob)] == \
            [(op, bytes(p)) for op, p in items]
    assert impl.FrameEncoder(False).encode_many([]) == b""


def test_encode_many_refuses_frames_changed_midway(c_impl):
    """Sizes are taken in a first pass; a change before the second must
    raise, not write past the buffer or leave bytes unwritten."""
    class Item:
        def __init__(self, payload, on_opcode):
            self.payload, self.on_opcode = payload, on_opcode

        def __getitem__(self, i):
            if i == 0:
                self.on_opcode()
                return 2
            return self.payload

    grow = bytearray(b"x" * 10)
    with pytest.raises(RuntimeError):
        c_impl.FrameEncoder(False).encode_many([Item(grow, lambda: grow.extend(b"y" * 1000))])
    shrink = bytearray(b"x" * 1000)
    with pytest.raises(RuntimeError):
        c_impl.FrameEncoder(True).encode_many([Item(shrink, lambda: shrink.clear())])
    items = []
    items += [Item(b"a", lambda: items.append((1, b"late"))), (1, b"b")]
    with pytest.raises(RuntimeError):
        c_impl.FrameEncoder(False).encode_many(items)
    items = []
    items += [Item(b"a", lambda: items.pop()), (1, b"b")]
    with pytest.raises(RuntimeError):
        c_impl.FrameEncoder(False).encode_many(items)


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_feed_stops_after_max_frames_and_says_what_it_consumed(impl, limit):
    # Whole frames, a fragmented message (one frame out when reassembled)
    # and a frame split at the end: the same frames come out, ``limit`` at
    # a time, when the caller feeds back what was not consumed.
    wire = b"".join(frame(1, b"m%d" % i) for i in range(5))
    wire += frame(2, b"ab", fin=False) + frame(9, b"p") + frame(0, b"cd")
    wire += frame(2, os.urandom(300))
    whole = impl.FrameParser(server=True).feed(wire)
    p = impl.FrameParser(server=True)
    got, data = [], wire[:-10]
    while True:
        frames = p.feed(data, limit)
        assert len(frames) <= limit
        got += frames
        if p.consumed == len(data):
            break
        assert len(frames) == limit
        data = data[p.consumed:]
    got += p.feed(wire[-10:], limit)
    assert p.consumed == 10
    assert got == whole
