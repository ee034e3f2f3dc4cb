# Compiled build of websocket.py (see wsfast/protocol/connection_c.pxd): the server loop's
# per-connection I/O as C calls on C fields. Keep in step with __slots__.
cimport cython

from wsfast.protocol.connection_c cimport Connection

cdef class Lifecycle


cdef class WebSocket:
    cdef public object server, _sock, remote_address, _data, _out, _tls, _topics
    cdef public Lifecycle _life
    cdef public Connection conn
    cdef public int fd, phase, _mask
    cdef public object _out_size
    cdef public bint _paused, _dirty, _held
    cdef object __weakref__

    cpdef send(self, data, compress=*)
    cpdef _flush(self)
    cpdef bint _write(self, data) except -1
    @cython.locals(total=Py_ssize_t, sent=Py_ssize_t, start=Py_ssize_t, count=Py_ssize_t, n=Py_ssize_t, size=Py_ssize_t, skip=Py_ssize_t)
    cpdef bint _write_many(self, list chunks) except -1
    cpdef _on_readable(self, buf, view)
    cpdef _on_writable(self)
    cpdef _hold(self)
    cpdef _next_step(self)
    cpdef _on_eof(self)
    cpdef _finish(self)
    cpdef _linger(self)
    cpdef _update_mask(self)
    cpdef _check_water(self)
    cpdef _wrote(self)


# Implemented by lifecycle_c.ServerLifecycle: C calls through the method table.
cdef class Lifecycle:
    cpdef dispatch(self, WebSocket ws, list events)
    cpdef destroy(self, WebSocket ws, reason=*, eof=*)
    cpdef set_deadline(self, WebSocket ws, delay)


@cython.locals(step=Py_ssize_t)
cpdef Py_ssize_t step_share(Py_ssize_t budget, Py_ssize_t count, Py_ssize_t low, Py_ssize_t high)


@cython.locals(ws=WebSocket, mask=int, readable=Py_ssize_t, step_frames=Py_ssize_t)
cpdef run_io(list events, dict conns, buf, view, Py_ssize_t budget, Py_ssize_t low, Py_ssize_t high)


@cython.locals(ws=WebSocket, conn=Connection, reached=int, skipped=int, queued=Py_ssize_t, pending=Py_ssize_t,
                unsent=Py_ssize_t, limit=Py_ssize_t, most=Py_ssize_t, is_open=int, gone=int)
cpdef int send_to_many(prepared, clients, list dirty, high, stats, exclude=*) except -1
