# Compiled build of prepared.py (see wsfast/protocol/connection_c.pxd): one object per
# publish or broadcast, made and read on the server's per-message path. Keep in step
# with __slots__.

cdef class PreparedMessage:
    cdef public int opcode
    cdef public bytes payload
    cdef public object plain, _compressed, _impl

    cpdef compressed(self, int window_bits)
