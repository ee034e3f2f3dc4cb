"""permessage-deflate streams (RFC 7692): Deflater and Inflater, both backends.

Every payload is also checked against Python's zlib as an independent
oracle: RFC 7692 section 7.2.2 says a receiver appends 00 00 ff ff to the
payload and inflates the result as raw deflate. Tests taking ``impl`` and
``peer`` compress with one backend and inflate with the other, in all four
combinations, so each backend must read what the other writes.
"""

import functools
import json
import random
import resource
import sys
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsfast.errors import ProtocolError

try:
    import tracemalloc
except ImportError:  # PyPy has none: the bomb tests then check RSS only
    tracemalloc = None

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20
DEFAULT_MAX = 4 * MiB


@pytest.fixture(params=["c", "cffi", "python"])
def peer(request, backend_named):
    """The backend at the other end; crossed with ``impl`` gives 9 pairs."""
    return backend_named(request.param)


def oracle_inflate(payload, wbits=15):
    """One message through a fresh zlib raw inflater (RFC 7692 7.2.2)."""
    return zlib.decompressobj(-wbits).decompress(payload + TAIL)


def raw_deflate(data, wbits=15, level=6, flush=zlib.Z_SYNC_FLUSH, zdict=None):
    """A message compressed by zlib itself, as another sender would."""
    kw = {"zdict": zdict} if zdict is not None else {}
    co = zlib.compressobj(level, zlib.DEFLATED, -wbits, 8, **kw)
    out = co.compress(data) + co.flush(flush)
    if flush == zlib.Z_SYNC_FLUSH:
        assert out.endswith(TAIL)
        out = out[:-4]
    return out


def pieces(data, n):
    """data cut into n roughly equal pieces (some may be empty)."""
    step = -(-len(data) // n) if data else 1
    out = [data[i:i + step] for i in range(0, len(data), step)]
    return out + [b""] * (n - len(out))


# --- Data -------------------------------------------------------------------

_rng = random.Random(7692)
JSON_16K = json.dumps(
    [{"id": i, "user": "user%04d" % i, "active": i % 3 == 0,
      "score": _rng.randrange(10 ** 6), "tags": ["alpha", "beta", "gamma"][: i % 4]}
     for i in range(400)]
).encode()[: 16 * 1024]
RANDOM_1M = _rng.randbytes(MiB)
_words = [b"socket", b"frame", b"deflate", b"window", b"message", b"payload", b"mask", b"opcode"]
COMPRESSIBLE_1M = b" ".join(_rng.choice(_words) for _ in range(MiB // 6))[:MiB]
TEXT = "héllo wörld € 𝄞 — ünïcödé ✓ ".encode() * 20

ROUND_TRIP = {
    "empty": b"",
    "one": b"x",
    "small": b"Hello, permessage-deflate!",
    "json16k": JSON_16K,
    "random1m": RANDOM_1M,
    "compressible1m": COMPRESSIBLE_1M,
}


# --- Round trips ------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_round_trip(impl, peer, name):
    data = ROUND_TRIP[name]
    payload = impl.Deflater().compress(data)
    assert not payload.endswith(TAIL) or len(payload) == 4
    assert oracle_inflate(payload, 12) == data
    assert peer.Inflater(window_bits=12).decompress(payload) == data
    assert peer.Inflater().decompress(payload) == data  # a wider window reads it too
    if name == "compressible1m":
        assert len(payload) < len(data) // 4
    if name == "random1m":  # stored blocks: small overhead only
        assert len(payload) < len(data) + len(data) // 100


def test_large_text(impl, peer):
    # Multibyte text over many output slices: the C inflater validates
    # UTF-8 in 64 KiB pieces, which cut characters in two.
    msg = ("ünïcödé €𝄞 ✓ " * 45000).encode()
    assert len(msg) > MiB
    payload = impl.Deflater().compress(msg)
    assert peer.Inflater().decompress(payload, text=True) == msg
    bad = impl.Deflater().compress(msg[: 3 * MiB // 4] + b"\xff" + msg[3 * MiB // 4:])
    assert _code(lambda: peer.Inflater().decompress(bad, text=True)) == 1007


@pytest.mark.parametrize("name", ["empty", "small", "json16k", "random1m"])
def test_inflates_zlib_output(impl, name):
    data = ROUND_TRIP[name]
    assert impl.Inflater().decompress(raw_deflate(data)) == data


def test_empty_message_is_one_zero_byte(impl, peer):
    d = impl.Deflater()
    i = peer.Inflater()
    assert d.compress(b"") == b"\x00"  # RFC 7692 section 7.2.3.6
    assert i.decompress(b"\x00") == b""
    assert i.decompress(d.compress(b"some context first")) == b"some context first"
    payload = d.compress(b"")
    assert payload == b"\x00"
    assert i.decompress(payload) == b""


def test_accepts_buffer_objects(impl):
    data = b"buffer protocol " * 50
    payload = impl.Deflater().compress(memoryview(bytearray(data)))
    assert impl.Inflater().decompress(bytearray(payload)) == data
    assert impl.Inflater().decompress(memoryview(payload)) == data


@pytest.mark.parametrize("hexdata", [
    "f248cdc9c90700",  # section 7.2.3.1: "Hello" compressed
    "0005 00faff 48656c6c6f 00",  # section 7.2.3.3: a stored block
    "f348cdc9c90700",  # section 7.2.3.4: a final block (BFINAL) ends it
])
def test_rfc7692_examples(impl, hexdata):
    payload = bytes.fromhex(hexdata)
    assert oracle_inflate(payload) == b"Hello"
    assert impl.Inflater().decompress(payload) == b"Hello"


# --- Window bits ------------------------------------------------------------

def _window_data():
    # A 200-byte motif 240 bytes apart (reachable with any window), plus an
    # 8 KiB block repeated (reachable only with 14 bits or more).
    rng = random.Random(8)
    motif = rng.randbytes(200)
    near = b"".join(motif + rng.randbytes(40) for _ in range(20))
    far = rng.randbytes(8192)
    return near + far + rng.randbytes(3000) + far


WINDOW_DATA = _window_data()


@pytest.mark.parametrize("wbits", range(8, 16))
def test_window_bits_deflate(impl, peer, wbits):
    d = impl.Deflater(window_bits=wbits)
    assert d.window_bits == max(wbits, 9)  # zlib's raw deflate cannot do 8
    p1 = d.compress(WINDOW_DATA)
    p2 = d.compress(WINDOW_DATA[::-1])
    # The oracle uses the real negotiated window, 8 included: output made
    # with 9 bits must still only refer 256 bytes back (deflate.h).
    z = zlib.decompressobj(-wbits)
    assert z.decompress(p1 + TAIL) == WINDOW_DATA
    assert z.decompress(p2 + TAIL) == WINDOW_DATA[::-1]
    i = peer.Inflater(window_bits=wbits)
    assert i.decompress(p1) == WINDOW_DATA
    assert i.decompress(p2) == WINDOW_DATA[::-1]


def test_window_bits_matter(impl):
    small = impl.Deflater(window_bits=9).compress(WINDOW_DATA)
    large = impl.Deflater(window_bits=15).compress(WINDOW_DATA)
    assert len(large) < len(small) - 4000  # the far 8 KiB repeat is found


@pytest.mark.parametrize("wbits", range(8, 16))
def test_window_bits_inflate(impl, wbits):
    zbits = max(wbits, 9)
    co = zlib.compressobj(9, zlib.DEFLATED, -zbits, 9)
    i = impl.Inflater(window_bits=wbits)
    for msg in (WINDOW_DATA, WINDOW_DATA[1000:], b"", WINDOW_DATA[::-1]):
        payload = (co.compress(msg) + co.flush(zlib.Z_SYNC_FLUSH))[:-4]
        assert i.decompress(payload) == msg


@pytest.mark.parametrize("bad", [7, 16, 0, -1])
def test_bad_window_bits(impl, bad):
    with pytest.raises(ValueError):
        impl.Deflater(window_bits=bad)
    with pytest.raises(ValueError):
        impl.Inflater(window_bits=bad)


def test_bad_settings(impl):
    for kw in ({"mem_level": 10}, {"mem_level": -1}, {"level": 10}, {"level": -2}):
        with pytest.raises(ValueError):
            impl.Deflater(**kw)
    impl.Deflater(mem_level=0, level=0).compress(b"defaults are accepted")


@pytest.mark.parametrize("mem_level", [1, 9])
@pytest.mark.parametrize("level", [-1, 0, 1, 9])
def test_levels(impl, peer, mem_level, level):
    d = impl.Deflater(mem_level=mem_level, level=level)
    i = peer.Inflater(window_bits=12)
    for msg in (JSON_16K, JSON_16K[::-1], b"", JSON_16K):
        payload = d.compress(msg)
        assert i.decompress(payload) == msg
    if level == 0:  # stored blocks
        assert len(payload) >= len(JSON_16K)


# --- Context takeover -------------------------------------------------------

def _messages(n):
    return [
        json.dumps({"type": "tick", "seq": k, "symbol": "WSF", "price": 100 + k % 17,
                    "note": "context takeover makes this nearly free"}).encode()
        for k in range(n)
    ]


@pytest.mark.parametrize("idle", ["keep", "window"])
def test_context_takeover_1000_messages(impl, peer, idle):
    msgs = _messages(1000)
    d = impl.Deflater(idle=idle)
    i = peer.Inflater(window_bits=12, idle=idle)
    oracle = zlib.decompressobj(-12)
    sizes = []
    for msg in msgs:
        payload = d.compress(msg)
        sizes.append(len(payload))
        assert i.decompress(payload) == msg
        assert oracle.decompress(payload + TAIL) == msg
    first = sizes[0]
    assert max(sizes[10:]) < first
    assert sum(sizes[1:]) / (len(sizes) - 1) < first / 2


def test_no_context_inflater_cannot_read_context_stream(impl):
    # Sanity check of the test above: message 2 depends on message 1.
    d = impl.Deflater()
    msg = b"this message repeats itself across messages" * 3
    p1, p2 = d.compress(msg), d.compress(msg)
    assert len(p2) < len(p1) // 3
    with pytest.raises(zlib.error):
        oracle_inflate(p2)
    i = impl.Inflater(no_context_takeover=True)
    assert i.decompress(p1) == msg
    with pytest.raises(ProtocolError) as e:
        i.decompress(p2)
    assert e.value.code == 1007


@pytest.mark.parametrize("release", [False, True])
def test_no_context_takeover(impl, peer, release):
    d = impl.Deflater(no_context_takeover=not release, release=release)
    shared = peer.Inflater(window_bits=12, no_context_takeover=True, release=release)
    msgs = _messages(50)
    first = None
    for k, msg in enumerate(msgs):
        payload = d.compress(msg)
        if release:
            assert d.memory == 0
        # Each message stands alone: a FRESH inflater reads it.
        assert oracle_inflate(payload, 12) == msg
        assert peer.Inflater(window_bits=12).decompress(payload) == msg
        assert shared.decompress(payload) == msg
        if k == 0:
            first = payload
    # Same input, same state: the same bytes every time.
    assert d.compress(msgs[0]) == first


def test_release_between_messages_keeps_stream_readable(impl, peer):
    # deflate.h: release is allowed between messages even with context
    # takeover; the next message then starts without the old window.
    d = impl.Deflater()
    i = peer.Inflater()
    msg = b"release me " * 40
    assert i.decompress(d.compress(msg)) == msg
    assert d.release() is True
    assert d.memory == 0
    payload = d.compress(msg)
    assert oracle_inflate(payload) == msg  # no reference to the old window
    assert i.decompress(payload) == msg
    assert i.decompress(d.compress(msg)) == msg


# --- Fragments --------------------------------------------------------------

@pytest.mark.parametrize("idle", ["keep", "window"])
@pytest.mark.parametrize("n", [2, 3, 7])
def test_fragments(impl, peer, n, idle):
    msgs = [JSON_16K, TEXT, b"", COMPRESSIBLE_1M[:100000], TEXT[:100], JSON_16K[:3000]]
    d = impl.Deflater(idle=idle)
    i = peer.Inflater(window_bits=12, idle=idle)
    whole = peer.Inflater(window_bits=12, idle=idle)
    oracle = zlib.decompressobj(-12)
    for msg in msgs:
        parts = pieces(msg, n)
        frags = [d.compress(p, final=False) for p in parts[:-1]]
        frags.append(d.compress(parts[-1], final=True))
        for f in frags[:-1]:  # flushed, so each piece inflates at once
            # (C writes nothing for an empty piece right after a flush;
            # Python's zlib module writes an empty stored block: both fine)
            assert f == b"" or f.endswith(TAIL)
        payload = b"".join(frags)
        assert oracle.decompress(payload + TAIL) == msg
        assert whole.decompress(payload) == msg
        got = [i.decompress(f, final=False) for f in frags[:-1]]
        got.append(i.decompress(frags[-1], final=True))
        assert got == parts  # output appears as each fragment arrives


@pytest.mark.parametrize("step", [1, 5, 333])
def test_inflate_any_split(impl, peer, step):
    # Fragment boundaries on the wire need not match anything the sender
    # flushed; split the compressed payload at arbitrary offsets.
    msgs = [JSON_16K[:3000], JSON_16K[3000:6000]]
    d = impl.Deflater()
    i = peer.Inflater(window_bits=12)
    for msg in msgs:
        payload = d.compress(msg)
        cuts = [payload[k:k + step] for k in range(0, len(payload), step)]
        out = b"".join(i.decompress(c, final=False) for c in cuts)
        out += i.decompress(b"", final=True)
        assert out == msg


def test_empty_fragments(impl, peer):
    d = impl.Deflater()
    i = peer.Inflater()
    frags = [d.compress(b"", final=False), d.compress(b"abc", final=False),
             d.compress(b"", final=False), d.compress(b"", final=True)]
    assert frags[-1] == b"\x00"  # RFC 7692 section 7.2.3.6
    out = b"".join(i.decompress(f, final=k == 3) for k, f in enumerate(frags))
    assert out == b"abc"
    assert oracle_inflate(b"".join(frags)) == b"abc"


def test_deflater_release_refused_mid_message(impl, peer):
    d = impl.Deflater()
    first = d.compress(b"part one, ", final=False)
    assert d.release() is False
    assert d.memory > 0
    payload = first + d.compress(b"part two", final=True)
    assert peer.Inflater().decompress(payload) == b"part one, part two"
    assert d.release() is True
    assert d.memory == 0


@pytest.mark.parametrize("cut", range(1, len("a€𝄞é".encode())))
def test_text_split_mid_utf8(impl, peer, cut):
    msg = "a€𝄞é".encode()
    d = impl.Deflater()
    i = peer.Inflater()
    for _ in range(2):  # twice: the validator restarts per message
        f1 = d.compress(msg[:cut], final=False)
        f2 = d.compress(msg[cut:], final=True)
        out = i.decompress(f1, final=False, text=True)
        assert out == msg[:cut]
        assert out + i.decompress(f2, final=True, text=True) == msg


def test_text_four_byte_char_over_three_fragments(impl, peer):
    parts = [b"a\xf0", b"\x9d", b"\x84\x9eb"]  # U+1D11E spread over three
    d = impl.Deflater()
    i = peer.Inflater()
    frags = [d.compress(p, final=k == 2) for k, p in enumerate(parts)]
    out = b"".join(i.decompress(f, final=k == 2, text=True) for k, f in enumerate(frags))
    assert out.decode() == "a\U0001d11eb"


# --- Bad input --------------------------------------------------------------

def _code(fn):
    with pytest.raises(ProtocolError) as e:
        fn()
    return e.value.code


CORRUPT = {
    "bad_block_type": b"\x07\x00",  # BFINAL 1, BTYPE 11 (reserved)
    "stored_len_mismatch": b"\x01\x05\x00\x00\x00hello",
    "all_ones": b"\xff" * 16,
    "far_reference": raw_deflate(b"abcdefgh" * 20, zdict=b"abcdefgh" * 20),
    "bad_code_lengths": b"\x04\x00\xfe\xff",  # dynamic block, bogus header
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_data_1007(impl, name):
    payload = CORRUPT[name]
    with pytest.raises(zlib.error):  # the oracle agrees it is corrupt
        oracle_inflate(payload)
    assert _code(lambda: impl.Inflater().decompress(payload)) == 1007
    assert _code(lambda: _feed_then_final(impl, payload)) == 1007


def _feed_then_final(impl, payload):
    i = impl.Inflater()
    i.decompress(payload, final=False)
    i.decompress(b"\x00", final=True)


def _outcome(impl, payload, **kw):
    try:
        return impl.Inflater(**kw).decompress(payload)
    except ProtocolError as e:
        return e.code


@pytest.mark.parametrize("level", [-1, 0, 9])
def test_truncated_message(impl, level):
    # A payload cut short leaves the appended 00 00 ff ff inside a block,
    # where it is read as data. Cut anywhere, a message must fail with 1007
    # or, where the cut falls on a real block boundary (undetectable),
    # inflate to a prefix of the original: never to other bytes.
    msg = JSON_16K[:3000]
    payload = impl.Deflater(window_bits=15, level=level).compress(msg)
    for cut in range(len(payload)):
        got = _outcome(impl, payload[:cut])
        try:
            oracle_inflate(payload[:cut])
        except zlib.error:
            assert got == 1007, cut
        assert got == 1007 or msg.startswith(got), cut
    assert _outcome(impl, payload) == msg


def test_truncated_fragmented_message(impl):
    msg = JSON_16K[:3000]
    payload = impl.Deflater(window_bits=15).compress(msg)
    for cut in range(1, len(payload)):
        i = impl.Inflater()
        try:
            got = i.decompress(payload[:cut // 2], final=False)
            got += i.decompress(payload[cut // 2:cut], final=True)
        except ProtocolError as e:
            assert e.code == 1007
        else:
            assert msg.startswith(got), cut


def test_empty_payload_1007(impl):
    # An empty message is the byte 00 (RFC 7692 section 7.2.3.6); no bytes
    # at all leave 00 00 ff ff as an unfinished stored block header.
    assert _outcome(impl, b"") == 1007
    assert _outcome(impl, b"\x00") == b""


def test_corruption_after_good_messages(impl):
    d = impl.Deflater(window_bits=15)
    i = impl.Inflater()
    msgs = _messages(10)
    for m in msgs:
        assert i.decompress(d.compress(m)) == m
    payload = bytearray(d.compress(JSON_16K))
    payload[len(payload) // 2] ^= 0xFF
    payload = bytes(payload)
    try:
        out = i.decompress(payload)
    except ProtocolError as e:
        assert e.code == 1007
    else:  # a flipped byte can decode to other valid data; never the original
        assert out != JSON_16K


@pytest.mark.parametrize("bad", [b"\xff", b"abc\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf",
                                 b"\xf4\x90\x80\x80", b"ok" * 5000 + b"\x80"])
def test_invalid_utf8_text_1007(impl, bad):
    payload = impl.Deflater().compress(bad)
    assert impl.Inflater().decompress(payload) == bad  # fine as binary
    assert _code(lambda: impl.Inflater().decompress(payload, text=True)) == 1007


def test_unfinished_utf8_at_final_1007(impl):
    d = impl.Deflater()
    payload = d.compress("abc€".encode()[:-1])
    assert _code(lambda: impl.Inflater().decompress(payload, text=True)) == 1007
    d, i = impl.Deflater(), impl.Inflater()
    f1 = d.compress(b"abc\xe2", final=False)
    f2 = d.compress(b"\x82", final=True)
    assert i.decompress(f1, final=False, text=True) == b"abc\xe2"
    assert _code(lambda: i.decompress(f2, final=True, text=True)) == 1007


def test_invalid_utf8_across_fragments_1007(impl):
    d = impl.Deflater()
    f1 = d.compress(b"abc\xc3", final=False)
    f2 = d.compress(b"(", final=True)
    i = impl.Inflater()
    i.decompress(f1, final=False, text=True)
    assert _code(lambda: i.decompress(f2, final=True, text=True)) == 1007


def test_text_after_binary_and_valid_text(impl):
    d = impl.Deflater()
    i = impl.Inflater()
    # A binary message ending mid-sequence must not leak into the next text.
    assert i.decompress(d.compress(b"\xe2\x82"), text=False) == b"\xe2\x82"
    assert i.decompress(d.compress("€uro".encode()), text=True) == "€uro".encode()


# --- BFINAL (RFC 7692 section 7.2.3.4) ---------------------------------------

@pytest.mark.parametrize("idle", ["keep", "window"])
def test_bfinal_messages(impl, idle):
    first = b"first message, ended with a final block " * 4
    second = b"second message refers back to the first message " + first
    i = impl.Inflater(idle=idle)
    p1 = raw_deflate(first, flush=zlib.Z_FINISH)
    assert i.decompress(p1) == first
    # With context takeover the next stream may still refer back.
    p2 = raw_deflate(second, flush=zlib.Z_FINISH, zdict=first)
    assert i.decompress(p2) == second
    p3 = raw_deflate(first, zdict=first + second)
    assert i.decompress(p3) == first


@pytest.mark.parametrize("idle", ["keep", "window"])
def test_bfinal_then_more_in_one_message(impl, idle):
    a, b = b"A" * 100 + b"tail", b"more after the final block, tail" * 3
    payload = raw_deflate(a, flush=zlib.Z_FINISH) + raw_deflate(b, zdict=a)
    for frags in ([payload], pieces(payload, 3)):
        i = impl.Inflater(idle=idle)
        out = b"".join(i.decompress(f, final=k == len(frags) - 1) for k, f in enumerate(frags))
        assert out == a + b
        # The next message may refer back across both streams.
        assert i.decompress(raw_deflate(a + b, zdict=a + b)) == a + b


# --- Size limit and the decompression bomb ----------------------------------

@functools.lru_cache(maxsize=None)
def _bomb_parts():
    # 1 GiB of zeros in about 1 MiB. The first 1 MiB primes the window; the
    # second is then compressed and sync-flushed, so it is whole blocks that
    # only refer back into zeros and can be repeated. Compressing the full
    # 1 GiB would take several seconds.
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    first = co.compress(zeros) + co.flush(zlib.Z_SYNC_FLUSH)
    rest = co.compress(zeros) + co.flush(zlib.Z_SYNC_FLUSH)
    assert first.endswith(TAIL) and rest.endswith(TAIL)
    return first, rest


@pytest.fixture(scope="module")
def bomb():
    first, rest = _bomb_parts()
    # Check the construction with the oracle on a smaller scale.
    small = (first + rest * 7)[:-4]
    assert oracle_inflate(small) == bytes(8 * MiB)
    payload = (first + rest * 1023)[:-4]
    assert len(payload) < 1100 * 1024
    z = zlib.decompressobj(-15)
    assert z.decompress(payload, 16 * MiB) == bytes(16 * MiB)
    return payload


def _maxrss():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def _is_python(impl):
    return impl.__name__.endswith("_python")


def test_bomb_1009(impl, bomb):
    i = impl.Inflater()
    rss = _maxrss()
    traced = _is_python(impl) and tracemalloc is not None
    if traced:
        tracemalloc.start()
    t = time.perf_counter()
    try:
        with pytest.raises(ProtocolError) as e:
            i.decompress(bomb)
        elapsed = time.perf_counter() - t
    finally:
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    assert e.value.code == 1009
    assert elapsed < 2.0
    assert _maxrss() - rss < 64 * MiB
    if traced:
        assert peak < 64 * MiB
    elif _is_python(impl):
        pass  # no tracemalloc (PyPy): RSS above is the bound
    else:  # the zlib state only (window 15), nothing of the output
        assert i.memory < 64 * 1024


def test_bomb_in_fragments_1009(impl, bomb):
    i = impl.Inflater()
    frags = pieces(bomb, 64)
    got = 0
    t = time.perf_counter()
    with pytest.raises(ProtocolError) as e:
        for k, f in enumerate(frags):
            got += len(i.decompress(f, final=k == len(frags) - 1))
    assert e.value.code == 1009
    assert time.perf_counter() - t < 2.0
    assert got <= DEFAULT_MAX
    assert k < 8  # each 16 KiB fragment is worth about 16 MiB


def test_max_size_boundary(impl):
    first, rest = _bomb_parts()
    three = first + rest + rest  # 3 MiB, three sync-flushed pieces
    whole = three[:-4]
    assert len(impl.Inflater(max_size=3 * MiB).decompress(whole)) == 3 * MiB
    assert _code(lambda: impl.Inflater(max_size=3 * MiB - 1).decompress(whole)) == 1009
    # The limit counts the whole message, across fragments.
    i = impl.Inflater(max_size=3 * MiB)
    assert len(i.decompress(first, final=False)) == MiB
    assert len(i.decompress(rest, final=False)) == MiB
    assert len(i.decompress(rest[:-4], final=True)) == MiB
    assert len(i.decompress(whole)) == 3 * MiB  # the count restarts per message
    i = impl.Inflater(max_size=3 * MiB - 1)
    i.decompress(first, final=False)
    i.decompress(rest, final=False)
    assert _code(lambda: i.decompress(rest[:-4], final=True)) == 1009


def test_default_and_unlimited_max_size(impl):
    first, rest = _bomb_parts()
    five = (first + rest * 4)[:-4]
    assert _code(lambda: impl.Inflater().decompress(five)) == 1009
    assert len(impl.Inflater(max_size=0).decompress(five)) == 5 * MiB


def test_small_max_size(impl):
    payload = impl.Deflater().compress(b"x" * 100)
    assert impl.Inflater(max_size=100).decompress(payload) == b"x" * 100
    assert _code(lambda: impl.Inflater(max_size=99).decompress(payload)) == 1009
    assert _code(lambda: impl.Inflater(max_size=1).decompress(payload)) == 1009


# --- Memory -----------------------------------------------------------------

def test_lazy_allocation(impl, peer):
    d = impl.Deflater()
    i = peer.Inflater()
    assert d.memory == 0 and i.memory == 0
    assert d.release() is True and i.release() is True  # idle: nothing to do
    payload = d.compress(JSON_16K)
    assert d.memory > 0
    assert i.decompress(payload) == JSON_16K
    assert i.memory > 0
    # With context takeover the inflater must keep its window...
    assert i.release() is False
    assert i.memory > 0
    # ...the deflater may drop its own.
    assert d.release() is True
    assert d.memory == 0
    n = peer.Inflater(no_context_takeover=True)
    assert n.memory == 0
    assert n.decompress(payload) == JSON_16K
    assert n.release() is True
    assert n.memory == 0


def test_inflater_release_refused_mid_message(impl):
    d = impl.Deflater()
    i = impl.Inflater(no_context_takeover=True)
    f1 = d.compress(b"one ", final=False)
    f2 = d.compress(b"two", final=True)
    assert i.decompress(f1, final=False) == b"one "
    assert i.release() is False
    assert i.decompress(f2) == b"two"
    assert i.release() is True


def test_memory_per_connection_c(c_impl):
    msg = JSON_16K[:2000]
    d = c_impl.Deflater()  # defaults: 12 bits, memLevel 5
    i = c_impl.Inflater(window_bits=12)
    assert d.window_bits == 12
    assert i.decompress(d.compress(msg)) == msg
    print("\nC deflate memory at 12 bits / memLevel 5: deflater %d + inflater %d = %d bytes"
          % (d.memory, i.memory, d.memory + i.memory))
    # Measured 50,328 bytes (deflater 38,920 + inflater 11,408) with stock
    # zlib; zlib builds differ a little, hence some headroom.
    assert d.memory + i.memory < 52 * 1024
    # Idle state after release: nothing.
    assert d.release() is True and d.memory == 0


@pytest.mark.parametrize("wbits", [9, 12, 15])
@pytest.mark.parametrize("mem_level", [1, 5, 8, 9])
def test_deflater_memory_formula_c(c_impl, wbits, mem_level):
    d = c_impl.Deflater(window_bits=wbits, mem_level=mem_level)
    d.compress(b"x")
    # deflate.h: about 2^(window_bits+2) + 2^(mem_level+9), plus ~6 KiB.
    formula = (1 << (wbits + 2)) + (1 << (mem_level + 9)) + 6 * 1024
    assert abs(d.memory - formula) < 8 * 1024


def test_memory_figures_both(impl):
    d = impl.Deflater()
    i = impl.Inflater()
    i12 = impl.Inflater(window_bits=12)
    p = d.compress(JSON_16K)
    i.decompress(p)
    i12.decompress(p)
    print("\n%s: deflater(12/5) %d, inflater(12) %d, inflater(15) %d bytes"
          % (impl.__name__, d.memory, i12.memory, i.memory))
    assert i12.memory < i.memory


# --- Property: C and Python read each other --------------------------------

_message = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=1000).map(lambda s: s.encode()),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=20), st.integers(1, 400)),
)


@settings(max_examples=150, deadline=None)
@given(
    msgs=st.lists(st.tuples(_message, st.lists(st.integers(0, 3000), max_size=4)),
                  min_size=1, max_size=5),
    wbits=st.integers(8, 15),
    mem_level=st.integers(1, 9),
    level=st.integers(-1, 9),
    no_context=st.booleans(),
    release=st.booleans(),
    c_sends=st.booleans(),
    wire_split=st.integers(0, 50),
    idle=st.sampled_from(["keep", "window"]),
    rx_idle=st.sampled_from(["keep", "window"]),
)
def test_property_cross_backend(c_impl, py_impl, msgs, wbits, mem_level, level,
                                no_context, release, c_sends, wire_split, idle, rx_idle):
    tx, rx = (c_impl, py_impl) if c_sends else (py_impl, c_impl)
    d = tx.Deflater(window_bits=wbits, mem_level=mem_level, level=level,
                    no_context_takeover=no_context, release=release, idle=idle)
    i = rx.Inflater(window_bits=wbits, no_context_takeover=no_context or release,
                    release=release, idle=rx_idle)
    own = tx.Inflater(window_bits=wbits)
    oracle = zlib.decompressobj(-wbits)  # 8 really is 8 here
    for msg, cuts in msgs:
        text = _is_utf8(msg)
        bounds = sorted({c % (len(msg) + 1) for c in cuts})
        parts = [msg[a:b] for a, b in zip([0] + bounds, bounds + [len(msg)])]
        frags = [d.compress(p, final=False) for p in parts[:-1]]
        frags.append(d.compress(parts[-1], final=True))
        payload = b"".join(frags)
        assert oracle.decompress(payload + TAIL) == msg
        if no_context or release:
            assert oracle_inflate(payload, max(wbits, 9)) == msg
        assert own.decompress(payload) == msg
        if wire_split:  # arbitrary wire fragmentation
            chunks = [payload[k:k + wire_split] for k in range(0, len(payload), wire_split)]
        else:  # the sender's own fragments
            chunks = frags
        out = b"".join(i.decompress(c, final=k == len(chunks) - 1, text=text)
                       for k, c in enumerate(chunks))
        assert out == msg


def _is_utf8(b):
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- idle="window": only the window is kept between messages --------------

def _corpus(n, seed=3):
    """API-like JSON messages of varied sizes (a few above the window)."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        kind = rng.random()
        if kind < 0.6:
            obj = {"type": "chat", "id": rng.getrandbits(48), "user": "user%03d" % rng.randrange(300),
                   "text": " ".join(rng.choice(["ok", "ship", "it", "deploy", "now", "later", "retry"])
                                    for _ in range(rng.randrange(1, 30)))}
        elif kind < 0.9:
            obj = {"type": "ticker", "seq": k, "bids": [[round(rng.uniform(1, 99), 2), rng.randrange(9)]
                                                       for _ in range(rng.randrange(1, 60))]}
        else:
            obj = {"type": "listing", "items": [{"id": rng.getrandbits(32), "name": "item%d" % j,
                                                 "price": rng.randrange(10 ** 5)} for j in range(rng.randrange(50, 400))]}
        out.append(json.dumps(obj).encode())
    return out


def test_bad_idle(impl):
    for cls in (impl.Deflater, impl.Inflater):
        with pytest.raises(ValueError):
            cls(idle="never")


@pytest.mark.parametrize("wbits", [8, 9, 12, 15])
def test_idle_window_1000_messages_oracle(impl, wbits):
    # Both directions against Python's zlib as the peer: our window-only
    # deflater to a zlib inflater that keeps its stream, and a zlib
    # deflater that keeps its stream to our window-only inflater.
    msgs = _corpus(1000)
    d = impl.Deflater(window_bits=wbits, idle="window")
    i = impl.Inflater(window_bits=wbits, idle="window")
    zin = zlib.decompressobj(-wbits)
    zout = zlib.compressobj(6, zlib.DEFLATED, -max(wbits, 9), 8)
    window = 1 << max(wbits, 9)
    for msg in msgs:
        payload = d.compress(msg)
        assert zin.decompress(payload + TAIL) == msg
        assert d.memory <= window  # nothing but the window between messages
        wire = zout.compress(msg) + zout.flush(zlib.Z_SYNC_FLUSH)
        assert i.decompress(wire[:-4]) == msg
        assert i.memory <= window


def test_idle_window_compresses_as_well_as_keep(impl):
    msgs = _corpus(300)
    keep, win = impl.Deflater(), impl.Deflater(idle="window")
    a = sum(len(keep.compress(m)) for m in msgs)
    b = sum(len(win.compress(m)) for m in msgs)
    # The primed stream sees the same history: same output with zlib.
    assert abs(a - b) <= a // 100, (a, b)


def test_idle_window_memory(impl, peer):
    msg = JSON_16K[:2000]
    d = impl.Deflater(idle="window")
    i = peer.Inflater(window_bits=12, idle="window")
    assert d.memory == 0 and i.memory == 0
    assert i.decompress(d.compress(msg)) == msg
    # After one message each way: at most the 4 KiB windows.
    assert 0 < d.memory <= 4096 and 0 < i.memory <= 4096
    assert i.decompress(d.compress(JSON_16K)) == JSON_16K
    assert d.memory == 4096 and i.memory == 4096
    # The inflater's window is the context: release keeps it.
    assert i.release() is True and i.memory == 4096
    # The deflater may drop it; the next message then stands alone.
    assert d.release() is True and d.memory == 0
    payload = d.compress(msg)
    assert oracle_inflate(payload, 12) == msg
    assert i.decompress(payload) == msg


def test_idle_window_mid_message_holds_state(impl):
    d = impl.Deflater(idle="window")
    i = impl.Inflater(idle="window")
    f1 = d.compress(TEXT, final=False)
    assert d.memory > 8192  # zlib's state, while the message is open
    assert d.release() is False
    f2 = d.compress(TEXT, final=True)
    assert d.memory <= 4096
    assert i.decompress(f1, final=False) + i.decompress(f2) == TEXT * 2
    assert i.memory <= 4096


@pytest.mark.parametrize("kw", [{"no_context_takeover": True}, {"release": True}])
def test_idle_window_release_deflater_keeps_nothing(impl, kw):
    # release=True implies no context on a deflater: nothing to keep.
    d = impl.Deflater(idle="window", **kw)
    for msg in (b"\x00\x00", b"\x00\x00\x00", JSON_16K, JSON_16K):
        payload = d.compress(msg)
        assert oracle_inflate(payload, 12) == msg
        assert d.memory == 0


def test_idle_window_no_context_is_release(impl):
    d = impl.Deflater(no_context_takeover=True, idle="window")
    i = impl.Inflater(no_context_takeover=True, idle="window")
    for msg in (JSON_16K, JSON_16K):
        payload = d.compress(msg)
        assert oracle_inflate(payload, 12) == msg
        assert i.decompress(payload) == msg
        assert d.memory == 0 and i.memory == 0


@pytest.mark.parametrize("idle", ["keep", "window"])
@pytest.mark.parametrize("wbits", [9, 12, 15])
def test_websockets_peer_1000_messages(impl, idle, wbits):
    # websockets' permessage-deflate as the real peer, both directions,
    # context takeover kept across 1,000 messages.
    pmd = pytest.importorskip("websockets.extensions.permessage_deflate")
    frames = pytest.importorskip("websockets.frames")
    theirs = pmd.PerMessageDeflate(False, False, wbits, wbits, {"memLevel": 5})
    d = impl.Deflater(window_bits=wbits, idle=idle)
    i = impl.Inflater(window_bits=wbits, idle=idle)
    for msg in _corpus(1000, seed=wbits):
        frame = frames.Frame(frames.Opcode.BINARY, d.compress(msg), rsv1=True)
        assert theirs.decode(frame).data == msg
        out = theirs.encode(frames.Frame(frames.Opcode.BINARY, msg))
        assert out.rsv1
        assert i.decompress(out.data) == msg


@pytest.mark.parametrize("wbits", [9, 12, 15])
def test_adaptive_holds_while_busy_parks_when_idle(impl, peer, wbits):
    # "adaptive" keeps zlib's state from message to message and, once
    # parked, only the window; a peer of any backend in "keep" mode, and a
    # plain zlib stream, decode every message across the park.
    d = impl.Deflater(window_bits=wbits, idle="adaptive")
    i = impl.Inflater(window_bits=wbits, idle="adaptive")
    their_d = peer.Deflater(window_bits=wbits, idle="keep")
    their_i = peer.Inflater(window_bits=wbits, idle="keep")
    oracle = zlib.decompressobj(-wbits)
    window = 1 << max(wbits, 9)
    for k, msg in enumerate(_corpus(300, seed=wbits)):
        payload = d.compress(msg)
        assert their_i.decompress(payload) == msg
        assert oracle.decompress(payload + TAIL) == msg
        assert i.decompress(their_d.compress(msg)) == msg
        if k % 50 == 49:
            assert d.park() and i.park()
            assert 0 < d.memory <= window and 0 < i.memory <= window
        else:  # busy: the whole stream stays
            assert d.memory > window and i.memory > window


def test_adaptive_same_bytes_as_window(impl):
    # Parking changes what is held, not what is sent: "adaptive" with parks
    # anywhere makes the bytes "window" and "keep" make.
    msgs = list(_corpus(200, seed=5))
    window, keep = impl.Deflater(idle="window"), impl.Deflater(idle="keep")
    adaptive = impl.Deflater(idle="adaptive")
    for k, msg in enumerate(msgs):
        if k % 7 == 3:
            assert adaptive.park()
        out = adaptive.compress(msg)
        assert out == window.compress(msg) == keep.compress(msg)


def test_adaptive_park_refused_mid_message(impl):
    d = impl.Deflater(idle="adaptive")
    i = impl.Inflater(idle="adaptive")
    first = d.compress(JSON_16K[:5000], final=False)
    assert not d.park()
    rest = d.compress(JSON_16K[5000:], final=True)
    assert oracle_inflate(first + rest, 12) == JSON_16K
    got = i.decompress(first, False)
    assert not i.park()
    got += i.decompress(rest, True)
    assert got == JSON_16K
    assert d.park() and i.park()


@pytest.mark.parametrize(
    "payload, kwargs, text, expected",
    [
        # Inflates to 1 000 bytes; the limit is 100.
        (raw_deflate(b"a" * 1000), {"max_size": 100}, False, (1009, "message too big")),
        # Block type 3 does not exist.
        (b"\x07\x00", {}, False, (1007, "invalid compressed data")),
        # Valid deflate, but the text stops inside a 2-byte UTF-8 sequence.
        (raw_deflate(b"ok \xc3"), {}, True, (1007, "invalid UTF-8")),
    ],
    ids=["too_big", "bad_data", "utf8_cut"],
)
def test_inflate_failure_reasons_match_the_oracle(impl, payload, kwargs, text, expected):
    """The reason goes into the close frame sent to the peer, so both backends
    must give the same one (found by tests/fuzz/fuzz_connection.py: the C
    core said "inflated message too big", zlib's own message, and "text ends
    inside a UTF-8 sequence")."""
    with pytest.raises(ProtocolError) as info:
        impl.Inflater(**kwargs).decompress(payload, True, text)
    assert (info.value.code, info.value.reason) == expected
