# Compiled build of lifecycle.py (see wsfast/protocol/connection_c.pxd): a
# handshake's accept, dispatch and close as C code on the C fields of
# WebSocket and Connection.
cimport cython

from wsfast.protocol.connection_c cimport Connection
from wsfast.protocol.server_connection_c cimport ServerConnection
from wsfast.server.websocket_c cimport WebSocket


@cython.locals(conns=dict, deadlines=dict, n=Py_ssize_t, max_connections=Py_ssize_t, ws=WebSocket)
cpdef accept(server, lsock)


@cython.locals(ws=WebSocket, opened=ServerConnection)
cpdef dispatch(server, ws, list events)


@cython.locals(ws=WebSocket, conn=Connection, clients=set)
cpdef closed(server, ws, code, reason)


@cython.locals(ws=WebSocket, conn=Connection, graceful=bint)
cpdef destroy(server, ws, reason=*, eof=*)


cpdef set_deadline(server, ws, delay)
