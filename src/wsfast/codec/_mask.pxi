# XOR masking: bytes-like in, new bytes out, through the dispatched kernel.

cdef dict _KERNEL_IDS = {"scalar": WSF_MASK_SCALAR, "sse2": WSF_MASK_SSE2,
                         "avx2": WSF_MASK_AVX2, "neon": WSF_MASK_NEON}


cdef inline int _kernel_id(str name) except -1:
    k = _KERNEL_IDS.get(name)
    if k is None or not wsf_mask_supported(k):
        raise ValueError("unsupported mask kernel: %r" % (name,))
    return k


cdef bytes _mask_into_new(int kernel, data, key, unsigned phase):
    cdef Py_buffer d, k
    PyObject_GetBuffer(key, &k, PyBUF_SIMPLE)
    try:
        if k.len != 4:
            raise ValueError("mask key must be 4 bytes")
        PyObject_GetBuffer(data, &d, PyBUF_SIMPLE)
        try:
            out = PyBytes_FromStringAndSize(NULL, d.len)
            if d.len:
                if kernel < 0:
                    wsf_mask(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>d.buf,
                             d.len, <const uint8_t *>k.buf, phase & 3)
                else:
                    wsf_mask_with(kernel, <uint8_t *>PyBytes_AS_STRING(out),
                                  <const uint8_t *>d.buf, d.len,
                                  <const uint8_t *>k.buf, phase & 3)
            return out
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&k)


def apply_mask(data, key, unsigned phase=0):
    """Return ``data`` XORed with the 4-byte ``key``, starting at key byte
    ``phase`` (0-3), so a payload split across reads can be unmasked piece
    by piece."""
    return _mask_into_new(-1, data, key, phase)


def apply_mask_with(str kernel, data, key, unsigned phase=0):
    """``apply_mask`` through one named kernel (tests and benchmarks)."""
    return _mask_into_new(_kernel_id(kernel), data, key, phase)


def mask_kernels():
    """Names of the kernels this CPU runs."""
    return [name for name, k in _KERNEL_IDS.items() if wsf_mask_supported(k)]


def mask_kernel():
    """Name of the kernel apply_mask uses (WSFAST_MASK_IMPL forces one)."""
    return wsf_mask_kernel_name(wsf_mask_active()).decode()
