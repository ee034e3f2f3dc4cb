# Compiled build of server_connection.py (see wsfast/protocol/connection_c.pxd). Keep in step
# with ServerConnection.__slots__.
cimport cython

from wsfast.protocol cimport http_c
from wsfast.protocol.http_c cimport read_whole_head
from wsfast.protocol.connection_c cimport Connection


cdef class ServerConnection(Connection):
    cdef public object _hook_accept, _key, _pending, _reader, auto_accept, compression
    cdef public object extra_headers, handshake_hook, origin_hook, remote_address, request
    cdef public object subprotocols

    @cython.locals(new=ServerConnection)
    cpdef ServerConnection clone(self, remote_address)
    @cython.locals(request=http_c.Request, whole=tuple)
    cpdef list _receive_handshake(self, data)
    @cython.locals(request=http_c.Request)
    cpdef list accept(self, subprotocol=*, headers=*)
