"""XOR masking: every kernel against a byte-by-byte reference."""

import os

import pytest
from hypothesis import given, settings, strategies as st

KEY = b"\x9a\x01\xfe\x5c"


def reference(data, key, phase=0):
    return bytes(b ^ key[(phase + i) & 3] for i, b in enumerate(data))


def test_apply_mask_roundtrip(impl):
    data = os.urandom(1000)
    masked = impl.apply_mask(data, KEY)
    assert masked == reference(data, KEY)
    assert impl.apply_mask(masked, KEY) == data


def test_accepts_bytes_like(impl):
    data = os.urandom(77)
    expect = reference(data, KEY)
    assert impl.apply_mask(bytearray(data), KEY) == expect
    assert impl.apply_mask(memoryview(data), bytearray(KEY)) == expect
    assert type(impl.apply_mask(bytearray(data), KEY)) is bytes


def test_rejects_bad_key(impl):
    with pytest.raises(ValueError):
        impl.apply_mask(b"abc", b"123")


def test_every_kernel_lengths_phases_offsets(impl):
    """Lengths 0-300 x phases 0-3 x buffer offsets 0-63, per kernel."""
    base = os.urandom(300 + 64)
    view = memoryview(base)
    # C kernels are checked against the Python oracle (itself pinned to the
    # byte loop below); the oracle is checked against the byte loop, where
    # buffer alignment cannot matter.
    is_oracle = impl.BACKEND == "python"
    expect_fn = reference if is_oracle else _fast_reference
    for kernel in impl.mask_kernels():
        for offset in range(4 if is_oracle else 64):
            for n in range(301):
                data = view[offset : offset + n]
                for phase in range(4):
                    got = impl.apply_mask_with(kernel, data, KEY, phase)
                    assert got == expect_fn(data, KEY, phase), (kernel, offset, n, phase)


def _fast_reference(data, key, phase):
    from wsfast.codec._python.mask import apply_mask

    return apply_mask(data, key, phase)


def test_oracle_matches_byte_loop():
    from wsfast.codec._python.mask import apply_mask

    for n in range(0, 40):
        data = os.urandom(n)
        for phase in range(4):
            assert apply_mask(data, KEY, phase) == reference(data, KEY, phase)


@pytest.mark.parametrize("size", [1 << 16, (1 << 20) + 7, (4 << 20) + 3])
def test_every_kernel_large(impl, size):
    data = os.urandom(size)
    expect = _fast_reference(data, KEY, 1)
    for kernel in impl.mask_kernels():
        assert impl.apply_mask_with(kernel, data, KEY, 1) == expect, kernel


def test_split_with_phase_equals_whole(impl):
    data = os.urandom(517)
    whole = impl.apply_mask(data, KEY)
    for cut in range(0, 517, 13):
        a = impl.apply_mask(data[:cut], KEY, 0)
        b = impl.apply_mask(data[cut:], KEY, cut & 3)
        assert a + b == whole


def test_unknown_kernel_rejected(impl):
    with pytest.raises(ValueError):
        impl.apply_mask_with("mmx", b"abcd", KEY)


def test_active_kernel_is_supported(impl):
    assert impl.mask_kernel() in impl.mask_kernels()


def test_c_kernels_cover_cpu(c_impl):
    import platform

    kernels = c_impl.mask_kernels()
    assert "scalar" in kernels
    if platform.machine() in ("x86_64", "AMD64"):
        assert "sse2" in kernels
    if platform.machine() in ("aarch64", "arm64"):
        assert "neon" in kernels


@pytest.mark.parametrize("name", ["scalar", "sse2", "avx2"])
def test_env_forces_kernel(c_impl, name):
    """WSFAST_MASK_IMPL is read once at start-up, so check it in a child."""
    import subprocess
    import sys

    if name not in c_impl.mask_kernels():
        pytest.skip("%s not supported on this CPU" % name)
    out = subprocess.run(
        [sys.executable, "-c", "import wsfast; print(wsfast.mask_kernel())"],
        env=dict(os.environ, WSFAST_MASK_IMPL=name),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == name


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.binary(min_size=4, max_size=4), st.integers(0, 3))
def test_property_matches_reference(impl, data, key, phase):
    assert impl.apply_mask(data, key, phase) == reference(data, key, phase)
