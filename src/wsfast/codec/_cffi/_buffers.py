"""Buffers between Python and csrc/: views of the caller's bytes, and
output memory the C fills before it is copied once into ``bytes``."""

from ._ffi import ffi

#: Output memory is written whole by the C before it is read: no zeroing.
new_output = ffi.new_allocator(should_clear_after_alloc=False)


def view(data):
    """A ``uint8_t[]`` over any buffer (bytes, bytearray, memoryview), no copy."""
    return ffi.from_buffer("uint8_t[]", data)


def output(n):
    """``n`` bytes of uninitialised C memory (freed with the object)."""
    return new_output("uint8_t[]", n)


def to_bytes(cdata, n):
    """The first ``n`` bytes of ``cdata`` as a new ``bytes``."""
    return ffi.buffer(cdata, n)[:]
