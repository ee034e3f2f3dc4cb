# Compiled build of lifecycle.py (see wsfast/protocol/connection_c.pxd): a
# handshake's accept, dispatch and close as C code on the C fields of
# WebSocket, Connection and the server's containers.
cimport cython

from wsfast.protocol.connection_c cimport Connection
from wsfast.protocol.server_connection_c cimport ServerConnection
from wsfast.server.websocket_c cimport Lifecycle, WebSocket


cdef class ServerLifecycle(Lifecycle):
    cdef public object server
    cdef public dict conns, deadlines, handlers
    cdef public set clients, compressing, compression_live

    @cython.locals(conns=dict, deadlines=dict, n=Py_ssize_t, max_connections=Py_ssize_t, ws=WebSocket,
                   template=ServerConnection)
    cpdef accept(self, lsock)

    @cython.locals(opened=ServerConnection)
    cpdef dispatch(self, WebSocket ws, list events)

    @cython.locals(conn=Connection, clients=set)
    cpdef closed(self, WebSocket ws, code, reason)

    @cython.locals(conn=Connection, graceful=bint)
    cpdef destroy(self, WebSocket ws, reason=*, eof=*)

    cpdef set_deadline(self, WebSocket ws, delay)
