"""Buffers between Python and csrc/: views of the caller's bytes, and
output memory the C fills before it is copied once into ``bytes``."""

import platform

from ._ffi import ffi

#: Output memory is written whole by the C before it is read: no zeroing.
new_output = ffi.new_allocator(should_clear_after_alloc=False)

# PyPy copies a bytes object passed straight to a pointer argument, where
# a view pins it; CPython hands the C the object's own memory.
_VIEW_BYTES = platform.python_implementation() == "PyPy"


def view(data):
    """What a ``const uint8_t *`` argument takes for any buffer, no copy."""
    if _VIEW_BYTES or type(data) is not bytes:
        return ffi.from_buffer("uint8_t[]", data)
    return data


def output(n):
    """``n`` bytes of uninitialised C memory (freed with the object)."""
    return new_output("uint8_t[]", n)


def to_bytes(cdata, n):
    """The first ``n`` bytes of ``cdata`` as a new ``bytes``."""
    return ffi.buffer(cdata, n)[:]
