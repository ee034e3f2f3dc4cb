# Compiled build of loop.py (see wsfast/protocol/connection_c.pxd): C locals for the pass.
cimport cython

from wsfast.server.lifecycle_c cimport ServerLifecycle
from wsfast.server.websocket_c cimport WebSocket, run_io, step_share


@cython.locals(life=ServerLifecycle, timeout=double, now=double, due=double, wakeup_fd=int, ws=WebSocket, dirty=list, backlog=list, held=list,
               flushing=list, budget=Py_ssize_t, high=Py_ssize_t, low=Py_ssize_t, step=Py_ssize_t)
cpdef run(server)
