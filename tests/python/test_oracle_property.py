"""The C parser and the Python oracle agree on random frame streams.

Streams mix valid and invalid frames (any opcode, RSV bits, mask bit,
fragmentation, bad UTF-8 and close payloads) and are fed in random pieces.
Both must produce the same frames, then the same error, if any.
"""

from hypothesis import given, settings, strategies as st

from wsfast.errors import ProtocolError

from frames import frame

payloads = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\x03\xe8", b"\x03\xe8ok", b"\x03", b"\x03\xed", b"\x0b\xb8",
                     b"\xce", b"\xba", b"\xed\xa0\x80", b"x" * 126, b"y" * 300]),
)

one_frame = st.builds(
    lambda op, payload, fin, rsv, masked, mask: frame(op, payload, fin, rsv, mask if masked else None),
    st.sampled_from([0, 0, 1, 1, 2, 2, 8, 9, 10, 3, 0xB]),
    payloads,
    st.booleans(),
    st.sampled_from([0, 0, 0, 0, 4, 2, 1]),
    st.sampled_from([True, True, True, True, False]),
    st.binary(min_size=4, max_size=4),
)


def run(parser, pieces):
    out = []
    try:
        for p in pieces:
            out += parser.feed(p)
    except ProtocolError as e:
        return out + e.frames, (e.code, e.reason)
    return out, None


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(one_frame, max_size=12),
    st.data(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0, 64, 200]),
)
def test_c_matches_oracle(c_impl, py_impl, frames, data, server, allow_rsv1, reassemble, limit):
    blob = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=6)))
    pieces, last = [], 0
    for c in cuts + [len(blob)]:
        pieces.append(blob[last:c])
        last = c
    kw = dict(allow_rsv1=allow_rsv1, reassemble=reassemble,
              max_frame_size=limit, max_message_size=limit * 2)
    got = run(c_impl.FrameParser(server, **kw), pieces)
    expect = run(py_impl.FrameParser(server, **kw), pieces)
    assert got == expect
    # The same stream fed whole gives the same result as in pieces.
    assert run(c_impl.FrameParser(server, **kw), [blob]) == got
