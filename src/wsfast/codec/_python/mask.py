"""XOR masking in pure Python: big-integer XOR, one pass in C inside CPython."""

_KERNELS = ("python",)


def apply_mask(data, key, phase=0):
    """Return ``data`` XORed with the 4-byte ``key``, starting at key byte
    ``phase`` (0-3), so a payload split across reads can be unmasked piece
    by piece."""
    if len(key) != 4:
        raise ValueError("mask key must be 4 bytes")
    data = bytes(data)
    n = len(data)
    if n == 0:
        return b""
    phase &= 3
    key = bytes(key)
    key = key[phase:] + key[:phase]
    stream = key * ((n >> 2) + 1)
    x = int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little")
    return x.to_bytes(n, "little")


def apply_mask_with(kernel, data, key, phase=0):
    """``apply_mask`` with a named kernel; only "python" exists here."""
    if kernel not in _KERNELS:
        raise ValueError("unsupported mask kernel: %r" % (kernel,))
    return apply_mask(data, key, phase)


def mask_kernels():
    """Names of the kernels this backend can run."""
    return list(_KERNELS)


def mask_kernel():
    """Name of the kernel apply_mask uses."""
    return "python"
