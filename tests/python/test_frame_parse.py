"""Parsing: splits, fragments, control frames, streaming and the encoder."""

import os

import pytest

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
