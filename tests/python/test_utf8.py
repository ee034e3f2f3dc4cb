"""UTF-8 validation: strict, incremental and fail-fast, on both backends."""

import pytest
from hypothesis import given, settings, strategies as st

VALID = [
    b"",
    b"hello",
    "κόσμε".encode(),
    "\u0080\u07ff\u0800\uffff".encode(),
    "\U00010000\U0010ffff".encode(),
    b"\xed\x9f\xbf",  # U+D7FF, just below the surrogates
    b"\xee\x80\x80",  # U+E000, just above
    b"a" * 1000 + "é".encode(),
]

INVALID = [
    b"\x80",  # lone continuation
    b"\xbf",
    b"\xc0\xaf",  # overlong /
    b"\xc1\xbf",
    b"\xe0\x80\xaf",  # overlong 3-byte
    b"\xe0\x9f\xbf",
    b"\xf0\x80\x80\xaf",  # overlong 4-byte
    b"\xf0\x8f\xbf\xbf",
    b"\xed\xa0\x80",  # surrogate U+D800
    b"\xed\xbf\xbf",  # U+DFFF
    b"\xf4\x90\x80\x80",  # U+110000
    b"\xf5\x80\x80\x80",
    b"\xff",
    b"\xfe",
    b"\xce\xba\xe1",  # truncated
    b"\xce",
    b"\xf0\x90\x80",
    b"\xe1\x80\x41",  # continuation missing
]

# Prefixes that can no longer become valid: the validator must say so at once.
FAIL_FAST = [b"\xed\xa0", b"\xf4\x90", b"\xe0\x80", b"\xf0\x80", b"\xc0", b"\xf5", b"\x80"]
# Prefixes that can still become valid.
STILL_OK = [b"\xed\x9f", b"\xf4\x8f", b"\xe0\xa0", b"\xf0\x90", b"\xce", b"\xf4\x8f\xbf"]


@pytest.mark.parametrize("data", VALID)
def test_valid(impl, data):
    assert impl.validate_utf8(data)
    v = impl.Utf8Validator()
    assert v.feed(data) and v.complete


@pytest.mark.parametrize("data", INVALID)
def test_invalid(impl, data):
    assert not impl.validate_utf8(data)
    v = impl.Utf8Validator()
    assert not (v.feed(data) and v.complete)


@pytest.mark.parametrize("data", FAIL_FAST)
def test_fail_fast(impl, data):
    v = impl.Utf8Validator()
    assert v.feed(data) is False
    assert not v.valid
    assert v.feed(b"\x80\x80") is False  # stays invalid


@pytest.mark.parametrize("data", STILL_OK)
def test_partial_is_not_invalid(impl, data):
    v = impl.Utf8Validator()
    assert v.feed(data) is True
    assert v.valid and not v.complete


def test_split_at_every_point(impl):
    data = "aé€𝄞z".encode() * 3
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            v = impl.Utf8Validator()
            assert v.feed(data[:i]) and v.feed(data[i:j]) and v.feed(data[j:])
            assert v.complete


def test_invalid_byte_at_every_position_of_ascii_run(impl):
    """The ASCII fast path must still see a bad byte wherever it lands."""
    for n in (15, 16, 17, 31, 32, 33, 64, 100):
        for pos in range(n):
            data = bytearray(b"x" * n)
            data[pos] = 0xFF
            assert not impl.validate_utf8(bytes(data)), (n, pos)
            v = impl.Utf8Validator()
            assert not v.feed(bytes(data)), (n, pos)


def test_reset(impl):
    v = impl.Utf8Validator()
    assert not v.feed(b"\xff")
    v.reset()
    assert v.feed(b"ok") and v.complete


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_one_shot_matches_python_decoder(impl, data):
    try:
        data.decode("utf-8")
        expect = True
    except UnicodeDecodeError:
        expect = False
    assert impl.validate_utf8(data) is expect


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9d\x84\x9e",
                              b"\xed\xa0\x80", b"\xc0", b"\x80", b"\xf4\x90", b"\xe1"]),
             max_size=20),
    st.data(),
)
def test_incremental_matches_oracle_at_every_split(c_impl, py_impl, parts, data):
    """The C validator and the Python DFA agree after every piece."""
    blob = b"".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=5)))
    pieces, last = [], 0
    for c in cuts + [len(blob)]:
        pieces.append(blob[last:c])
        last = c
    a, b = c_impl.Utf8Validator(), py_impl.Utf8Validator()
    for p in pieces:
        assert a.feed(p) == b.feed(p)
        assert (a.valid, a.complete) == (b.valid, b.complete)
