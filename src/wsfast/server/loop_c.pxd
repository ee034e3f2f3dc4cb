# Compiled build of loop.py (see protocol.pxd): C locals for the pass.
cimport cython

from wsfast.server.websocket cimport WebSocket


@cython.locals(timeout=double, now=double, wakeup_fd=int, ws=WebSocket, dirty=list, backlog=list, held=list)
cpdef run(server)
