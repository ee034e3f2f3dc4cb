"""Buffers between Python and csrc/: views of the caller's bytes, and
output memory the C fills before it is copied once into ``bytes``."""

import platform

from ._ffi import ffi

#: Output memory is written whole by the C before it is read: no zeroing.
new_output = ffi.new_allocator(should_clear_after_alloc=False)

if platform.python_implementation() == "PyPy":
    def view(data):
        """A ``uint8_t[]`` over any buffer, no copy. (PyPy copies a bytes
        object passed straight to a pointer argument; a view pins it.)"""
        return ffi.from_buffer("uint8_t[]", data)
else:
    def view(data):
        """What a ``const uint8_t *`` argument takes for any buffer, no copy:
        CPython hands the C a bytes object's own memory, others get a view."""
        return data if type(data) is bytes else ffi.from_buffer("uint8_t[]", data)


def output(n):
    """``n`` bytes of uninitialised C memory (freed with the object)."""
    return new_output("uint8_t[]", n)


def to_bytes(cdata, n):
    """The first ``n`` bytes of ``cdata`` as a new ``bytes``."""
    return ffi.buffer(cdata, n)[:]
