"""Every RFC 6455 section 5 rule the parser enforces, with its close code."""

import pytest

from wsfast.errors import ProtocolError

from frames import close_payload, frame


def server(impl, **kw):
    return impl.FrameParser(True, **kw)


def client(impl, **kw):
    return impl.FrameParser(False, **kw)


def fails(parser, data, code, reason=None):
    with pytest.raises(ProtocolError) as exc:
        parser.feed(data)
    assert exc.value.code == code, exc.value
    if reason:
        assert reason in exc.value.reason
    return exc.value


@pytest.mark.parametrize("rsv", [1, 2, 4, 6, 7])
def test_rsv_bits_without_extension(impl, rsv):
    fails(server(impl), frame(1, b"x", rsv=rsv), 1002, "reserved bits")


@pytest.mark.parametrize("rsv", [1, 2, 3])
def test_only_rsv1_with_deflate(impl, rsv):
    fails(server(impl, allow_rsv1=True), frame(2, b"x", rsv=rsv), 1002, "reserved bits")


def test_rsv1_allowed_with_deflate(impl):
    frames = server(impl, allow_rsv1=True).feed(frame(1, b"\xff\xfe", rsv=4))
    # Compressed text is not UTF-8: the deflate layer checks after inflating.
    assert frames == [(1, b"\xff\xfe", True, True)]


@pytest.mark.parametrize("op", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes(impl, op):
    fails(server(impl), frame(op, b""), 1002, "reserved opcode")


@pytest.mark.parametrize("op", [8, 9, 10])
def test_fragmented_control(impl, op):
    fails(server(impl), frame(op, b"", fin=False), 1002, "fragmented control")


@pytest.mark.parametrize("op", [9, 10])
def test_control_too_long(impl, op):
    fails(server(impl), frame(op, b"x" * 126), 1002, "control frame too long")
    assert server(impl).feed(frame(op, b"x" * 125)) == [(op, b"x" * 125, True, False)]


def test_compressed_control(impl):
    fails(server(impl, allow_rsv1=True), frame(9, b"", rsv=4), 1002, "compressed control")


def test_client_frames_must_be_masked(impl):
    fails(server(impl), frame(1, b"hi", mask=None), 1002, "unmasked")


def test_server_frames_must_not_be_masked(impl):
    fails(client(impl), frame(1, b"hi"), 1002, "masked server frame")
    assert client(impl).feed(frame(1, b"hi", mask=None)) == [(1, b"hi", True, False)]


def test_64bit_length_top_bit(impl):
    data = frame(2, b"", length=1 << 63)[:14]
    fails(server(impl, max_frame_size=0, max_message_size=0), data, 1002, "invalid frame length")


def test_continuation_without_message(impl):
    fails(server(impl), frame(0, b"x"), 1002, "unexpected continuation")


def test_new_message_inside_fragmented(impl):
    p = server(impl)
    assert p.feed(frame(1, b"a", fin=False)) == []
    assert p.in_message
    fails(p, frame(2, b"b"), 1002, "expected continuation")


def test_rsv1_on_continuation(impl):
    p = server(impl, allow_rsv1=True)
    p.feed(frame(1, b"a", fin=False, rsv=4))
    fails(p, frame(0, b"b", rsv=4), 1002, "continuation")


def test_frame_too_big(impl):
    p = server(impl, max_frame_size=100, max_message_size=1000)
    assert p.feed(frame(2, b"x" * 100)) == [(2, b"x" * 100, True, False)]
    # Refused from the header alone (2 bytes + mask), before any payload.
    fails(p, frame(2, b"x" * 101)[:6], 1009, "frame too big")


def test_message_too_big_across_fragments(impl):
    p = server(impl, max_frame_size=100, max_message_size=150)
    p.feed(frame(2, b"x" * 100, fin=False))
    fails(p, frame(0, b"x" * 51), 1009, "message too big")


def test_message_limit_resets_per_message(impl):
    p = server(impl, max_message_size=150)
    for _ in range(3):
        p.feed(frame(2, b"x" * 100, fin=False))
        assert p.feed(frame(0, b"x" * 50)) == [(2, b"x" * 150, True, False)]


def test_invalid_utf8_text(impl):
    fails(server(impl), frame(1, b"\xff"), 1007, "UTF-8")


def test_utf8_fails_fast_mid_frame(impl):
    p = server(impl)
    data = frame(1, b"ok\xed\xa0\x80" + b"z" * 1000)
    # Header (4 bytes + mask) and "ok\xed\xa0" have arrived: fail already.
    fails(p, data[:4 + 4 + 4], 1007, "UTF-8")


def test_utf8_fails_fast_across_fragments(impl):
    p = server(impl)
    p.feed(frame(1, b"ok\xf4", fin=False))
    fails(p, frame(0, b"\x90\x80\x80", fin=True), 1007)


def test_truncated_utf8_at_message_end(impl):
    p = server(impl)
    p.feed(frame(1, b"\xce", fin=False))
    fails(p, frame(0, b"", fin=True), 1007)


def test_utf8_split_across_fragments_ok(impl):
    p = server(impl)
    text = "κόσμε".encode()
    p.feed(frame(1, text[:3], fin=False))
    assert p.feed(frame(0, text[3:])) == [(1, text, True, False)]


def test_binary_is_not_utf8_checked(impl):
    assert server(impl).feed(frame(2, b"\xff")) == [(2, b"\xff", True, False)]


def test_utf8_check_can_be_disabled(impl):
    assert server(impl, validate_utf8=False).feed(frame(1, b"\xff")) == [(1, b"\xff", True, False)]


def test_close_one_byte_payload(impl):
    fails(server(impl), frame(8, b"\x03"), 1002, "close")


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_close_code_not_sendable(impl, code):
    fails(server(impl), frame(8, close_payload(code)), 1002, "close")


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
def test_close_code_valid(impl, code):
    data = close_payload(code, b"bye")
    assert server(impl).feed(frame(8, data)) == [(8, data, True, False)]


def test_close_invalid_reason(impl):
    fails(server(impl), frame(8, close_payload(1000, b"\xed\xa0\x80")), 1007, "close reason")


def test_close_empty_payload_ok(impl):
    assert server(impl).feed(frame(8, b"")) == [(8, b"", True, False)]


def test_error_is_sticky(impl):
    p = server(impl)
    fails(p, frame(3, b""), 1002)
    fails(p, frame(1, b"fine"), 1002)


def test_frames_before_error_are_kept(impl):
    p = server(impl)
    err = fails(p, frame(1, b"one") + frame(9, b"p") + frame(3), 1002)
    assert err.frames == [(1, b"one", True, False), (9, b"p", True, False)]
