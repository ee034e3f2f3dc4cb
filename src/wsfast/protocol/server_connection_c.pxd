# Compiled build of server_protocol.py (see protocol.pxd). Keep in step
# with ServerConnection.__slots__.
from wsfast.protocol cimport Connection


cdef class ServerConnection(Connection):
    cdef public object _hook_accept, _key, _pending, _reader, auto_accept, compression
    cdef public object extra_headers, handshake_hook, origin_hook, remote_address, request
    cdef public object subprotocols
