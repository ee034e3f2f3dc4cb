"""XOR masking through csrc's run-time dispatched kernels."""

from ._buffers import output, to_bytes, view
from ._ffi import ffi, lib

_KERNEL_IDS = {"scalar": lib.WSF_MASK_SCALAR, "sse2": lib.WSF_MASK_SSE2,
               "avx2": lib.WSF_MASK_AVX2, "neon": lib.WSF_MASK_NEON}


def _kernel_id(name):
    if not isinstance(name, str):
        raise TypeError("kernel must be a str, not %s" % type(name).__name__)
    k = _KERNEL_IDS.get(name)
    if k is None or not lib.wsf_mask_supported(k):
        raise ValueError("unsupported mask kernel: %r" % (name,))
    return k


def _masked(kernel, data, key, phase):
    if phase < 0:  # the C bridge takes an unsigned phase
        raise OverflowError("can't convert negative value to unsigned int")
    k = view(key)
    if len(k) != 4:
        raise ValueError("mask key must be 4 bytes")
    d = view(data)
    n = len(d)
    if not n:
        return b""
    out = output(n)
    if kernel < 0:
        lib.wsf_mask(out, d, n, k, phase & 3)
    else:
        lib.wsf_mask_with(kernel, out, d, n, k, phase & 3)
    return to_bytes(out, n)


def apply_mask(data, key, phase=0):
    """Return ``data`` XORed with the 4-byte ``key``, starting at key byte
    ``phase`` (0-3), so a payload split across reads can be unmasked piece
    by piece."""
    return _masked(-1, data, key, phase)


def apply_mask_with(kernel, data, key, phase=0):
    """``apply_mask`` through one named kernel (tests and benchmarks)."""
    return _masked(_kernel_id(kernel), data, key, phase)


def mask_kernels():
    """Names of the kernels this CPU runs."""
    return [name for name, k in _KERNEL_IDS.items() if lib.wsf_mask_supported(k)]


def mask_kernel():
    """Name of the kernel apply_mask uses (WSFAST_MASK_IMPL forces one)."""
    return ffi.string(lib.wsf_mask_kernel_name(lib.wsf_mask_active())).decode()
