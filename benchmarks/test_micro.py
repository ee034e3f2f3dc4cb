"""pytest-benchmark micro-benchmarks of wsfast's codec operations.

Not part of the test suite (the project's pytest configuration collects
only tests/). Run them explicitly:

    python3 -m pytest benchmarks/test_micro.py --benchmark-only

Compare backends or kernels with pytest-benchmark's own tools, e.g.
``--benchmark-group-by=param:size`` or ``--benchmark-save=NAME`` followed
by ``pytest-benchmark compare``. For figures against other libraries, with
ratios and noise bounds, use bench_codec.py.
"""

import random

import pytest

import wsfast
from wsfast.codec import _core

pytest.importorskip("pytest_benchmark")

KEY = bytes((0x37, 0xFA, 0x21, 0x3D))
MASK_SIZES = [125, 4 * 1024, 64 * 1024, 1024 * 1024]
FRAME_SIZES = [16, 125]
NFRAMES = 1000
CHUNK = 64 * 1024
TEXT = (b"The quick brown fox jumps over the lazy dog; "
        b"Pack my box with five dozen liquor jugs. 0123456789 ") * 4


def _xor(data, key):
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^
            int.from_bytes(stream, "little")).to_bytes(n, "little")


def _data(size):
    rnd = random.Random(size)
    return bytes(rnd.getrandbits(8) for _ in range(size))


def _client_stream(nframes, size):
    """nframes masked client TEXT frames, built without wsfast."""
    rnd = random.Random(7)
    parts = []
    for i in range(nframes):
        payload = TEXT[i % 64:i % 64 + size]
        key = rnd.getrandbits(32).to_bytes(4, "little")
        parts.append(bytes((0x81, 0x80 | size)) + key + _xor(payload, key))
    return b"".join(parts)


# -- masking ---------------------------------------------------------------

@pytest.mark.parametrize("size", MASK_SIZES)
def test_apply_mask(benchmark, size):
    data = _data(size)
    benchmark.extra_info["bytes"] = size
    out = benchmark(wsfast.apply_mask, data, KEY)
    assert out == _xor(data, KEY)


@pytest.mark.parametrize("kernel", _core.mask_kernels())
@pytest.mark.parametrize("size", MASK_SIZES)
def test_apply_mask_kernel(benchmark, size, kernel):
    data = _data(size)
    benchmark.extra_info["bytes"] = size
    out = benchmark(_core.apply_mask_with, kernel, data, KEY, 0)
    assert out == _xor(data, KEY)


@pytest.mark.parametrize("size", MASK_SIZES)
def test_copy_reference(benchmark, size):
    """The copy the mask figures are compared with."""
    src = bytearray(_data(size))
    benchmark.extra_info["bytes"] = size
    out = benchmark(src.__getitem__, slice(None))
    assert out == src and out is not src


# -- UTF-8 -----------------------------------------------------------------

UTF8_TEXTS = {
    "ascii": TEXT.decode(),
    "2byte": "Съешь же ещё этих мягких французских булок. Ξεσκεπάζω την ψυχοφθόρα. ",
    "4byte": "😀🚀🌍🎉🐍💡🔥✨ ",
}


def _utf8(kind, size=1024 * 1024):
    b = UTF8_TEXTS[kind].encode()
    b = b * (size // len(b) + 1)
    cut = size
    while (b[cut] & 0xC0) == 0x80:
        cut -= 1
    return b[:cut]


@pytest.mark.parametrize("kind", sorted(UTF8_TEXTS))
def test_validate_utf8(benchmark, kind):
    data = _utf8(kind)
    benchmark.extra_info["bytes"] = len(data)
    assert benchmark(wsfast.validate_utf8, data) is True


@pytest.mark.parametrize("kind", sorted(UTF8_TEXTS))
def test_decode_reference(benchmark, kind):
    data = _utf8(kind)
    benchmark.extra_info["bytes"] = len(data)
    benchmark(data.decode, "utf-8")


# -- parsing ---------------------------------------------------------------

@pytest.mark.parametrize("size", FRAME_SIZES)
def test_parse(benchmark, size):
    stream = _client_stream(NFRAMES, size)
    chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
    benchmark.extra_info["frames"] = NFRAMES

    def run():
        feed = wsfast.FrameParser(True).feed
        n = 0
        for c in chunks:
            n += len(feed(c))
        return n

    assert benchmark(run) == NFRAMES


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_parse_no_utf8(benchmark, size):
    """Same, with UTF-8 validation off: its share of the parse cost."""
    stream = _client_stream(NFRAMES, size)
    benchmark.extra_info["frames"] = NFRAMES

    def run():
        return len(wsfast.FrameParser(True, validate_utf8=False).feed(stream))

    assert benchmark(run) == NFRAMES


# -- encoding --------------------------------------------------------------

@pytest.mark.parametrize("size", FRAME_SIZES)
def test_encode(benchmark, size):
    payloads = [TEXT[i % 64:i % 64 + size] for i in range(NFRAMES)]
    enc = wsfast.FrameEncoder(False).encode
    benchmark.extra_info["frames"] = NFRAMES

    def run():
        n = 0
        for p in payloads:
            n += len(enc(1, p))
        return n

    assert benchmark(run) == NFRAMES * (size + 2)


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_encode_many(benchmark, size):
    frames = [(1, TEXT[i % 64:i % 64 + size]) for i in range(NFRAMES)]
    many = wsfast.FrameEncoder(False).encode_many
    benchmark.extra_info["frames"] = NFRAMES
    out = benchmark(many, frames)
    assert len(out) == NFRAMES * (size + 2)


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_encode_client(benchmark, size):
    """Client side: each frame masked with a fresh key."""
    payloads = [TEXT[i % 64:i % 64 + size] for i in range(NFRAMES)]
    enc = wsfast.FrameEncoder(True).encode
    benchmark.extra_info["frames"] = NFRAMES

    def run():
        n = 0
        for p in payloads:
            n += len(enc(1, p))
        return n

    assert benchmark(run) == NFRAMES * (size + 6)
