# cython: language_level=3
"""recv and send on a non-blocking socket's descriptor, for the server
loop's per-message path.

The socket methods do more per call than these need: keyword parsing,
timeout handling, and releasing and retaking the GIL around a call that
never waits (the sockets are non-blocking). Errors are raised as the
socket methods raise them: OSError with errno, so EAGAIN is a
BlockingIOError. Linux only (epoll); elsewhere the loop uses the socket
methods and selectors.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.exc cimport PyErr_SetFromErrno

cdef extern from "sys/socket.h" nogil:
    ssize_t c_recv "recv"(int fd, void *buf, size_t n, int flags)
    ssize_t c_send "send"(int fd, const void *buf, size_t n, int flags)

cdef extern from *:
    """
    #ifndef MSG_NOSIGNAL
    #define MSG_NOSIGNAL 0
    #endif
    """
    int MSG_NOSIGNAL


def recv_into(int fd, buf):
    """recv(2) into the writable buffer ``buf``; returns the byte count."""
    cdef Py_buffer b
    cdef ssize_t n
    PyObject_GetBuffer(buf, &b, PyBUF_WRITABLE)
    n = c_recv(fd, b.buf, <size_t>b.len, 0)
    PyBuffer_Release(&b)
    if n < 0:
        PyErr_SetFromErrno(OSError)
        return None
    return n


def send(int fd, data):
    """send(2) of ``data`` (no SIGPIPE); returns the byte count taken."""
    cdef Py_buffer b
    cdef ssize_t n
    PyObject_GetBuffer(data, &b, PyBUF_SIMPLE)
    n = c_send(fd, b.buf, <size_t>b.len, MSG_NOSIGNAL)
    PyBuffer_Release(&b)
    if n < 0:
        PyErr_SetFromErrno(OSError)
        return None
    return n


cdef extern from "sys/uio.h" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len

cdef extern from "sys/socket.h" nogil:
    struct msghdr:
        void *msg_name
        unsigned int msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    ssize_t c_sendmsg "sendmsg"(int fd, const msghdr *msg, int flags)

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memset

# Chunks per sendmsg(2): well under IOV_MAX (1024), on the stack.
DEF SEND_MANY_MAX = 256


def send_many(int fd, list chunks):
    """sendmsg(2) of the buffers in ``chunks`` (at most the first 256) as
    one write, no SIGPIPE; returns the byte count taken. Spares joining a
    step's frames into one new buffer: a join the size of a whole read
    grows and shrinks the heap on every read. bytes are read in place;
    other buffers (a queue's partly sent memoryview) through the buffer
    protocol, released before returning."""
    cdef iovec iov[SEND_MANY_MAX]
    cdef Py_buffer views[SEND_MANY_MAX]
    cdef msghdr msg
    cdef Py_ssize_t i, held = 0, k = len(chunks)
    cdef ssize_t n
    if k > SEND_MANY_MAX:
        k = SEND_MANY_MAX
    try:
        for i in range(k):
            chunk = chunks[i]
            if type(chunk) is bytes:
                iov[i].iov_base = PyBytes_AS_STRING(chunk)
                iov[i].iov_len = <size_t>PyBytes_GET_SIZE(chunk)
            else:
                PyObject_GetBuffer(chunk, &views[held], PyBUF_SIMPLE)
                iov[i].iov_base = views[held].buf
                iov[i].iov_len = <size_t>views[held].len
                held += 1
        memset(&msg, 0, sizeof(msg))
        msg.msg_iov = iov
        msg.msg_iovlen = <size_t>k
        n = c_sendmsg(fd, &msg, MSG_NOSIGNAL)
    finally:
        for i in range(held):
            PyBuffer_Release(&views[i])
    if n < 0:
        PyErr_SetFromErrno(OSError)
        return None
    return n


cdef extern from "sys/epoll.h" nogil:
    ctypedef union epoll_data_t:
        int fd
    struct epoll_event:
        unsigned int events
        epoll_data_t data
    int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)

cdef extern from "errno.h":
    int errno
    int EINTR

from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport ceil


cdef class EpollWaiter:
    """``poll(timeout)`` on an epoll descriptor registered elsewhere (by
    select.epoll): the same ``[(fd, events)]`` result, with one events
    array kept for the loop's life, and the GIL released only when the
    call may wait."""

    cdef int epfd
    cdef int maxevents
    cdef epoll_event *events

    def __cinit__(self, int epfd, int maxevents=1024):
        self.epfd = epfd
        self.maxevents = maxevents
        self.events = <epoll_event *>PyMem_Malloc(maxevents * sizeof(epoll_event))
        if self.events == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.events)

    def poll(self, double timeout=-1.0):
        """Ready descriptors; ``timeout`` in seconds (negative: no limit),
        rounded up to milliseconds as select.epoll does."""
        cdef int ms = -1 if timeout < 0 else <int>ceil(timeout * 1000.0)
        cdef int n, i
        if ms == 0:
            n = epoll_wait(self.epfd, self.events, self.maxevents, 0)
        else:
            with nogil:
                n = epoll_wait(self.epfd, self.events, self.maxevents, ms)
            # A signal that ended the wait has its Python handler run now,
            # before the loop reads the wakeup socket it wrote to.
            PyErr_CheckSignals()
        if n < 0:
            if errno == EINTR:
                PyErr_CheckSignals()  # run the handlers; the caller polls again
                return []
            PyErr_SetFromErrno(OSError)
        result = []
        for i in range(n):
            result.append((self.events[i].data.fd, self.events[i].events))
        return result


cdef extern from "sys/socket.h" nogil:
    ctypedef unsigned int socklen_t
    struct sockaddr:
        unsigned short sa_family
    struct sockaddr_storage:
        unsigned short ss_family
    int c_accept4 "accept4"(int fd, sockaddr *addr, socklen_t *addrlen, int flags)
    int AF_INET, AF_INET6, AF_UNIX, SOCK_NONBLOCK, SOCK_CLOEXEC

cdef extern from "netinet/in.h" nogil:
    struct in_addr:
        pass
    struct in6_addr:
        pass
    struct sockaddr_in:
        in_addr sin_addr
        unsigned short sin_port
    struct sockaddr_in6:
        in6_addr sin6_addr
        unsigned short sin6_port
    unsigned short ntohs(unsigned short)

cdef extern from "sys/un.h" nogil:
    struct sockaddr_un:
        char sun_path[108]

cdef extern from "arpa/inet.h" nogil:
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)

cdef extern from "string.h" nogil:
    size_t strnlen(const char *s, size_t maxlen)

cdef extern from "errno.h":
    int EAGAIN, EWOULDBLOCK


cdef Py_ssize_t _dotted_quad(const unsigned char *a, char *out) noexcept:
    """IPv4 address ``a`` (network order) as text into ``out`` (16 bytes
    at most), as inet_ntop writes it; its length. inet_ntop formats
    through sprintf, about 1,700 instructions per accepted connection."""
    cdef Py_ssize_t k = 0
    cdef int i, v
    for i in range(4):
        v = a[i]
        if v >= 100:
            out[k] = <char>(48 + v // 100)
            k += 1
        if v >= 10:
            out[k] = <char>(48 + v // 10 % 10)
            k += 1
        out[k] = <char>(48 + v % 10)
        k += 1
        if i < 3:
            out[k] = 46  # '.'
            k += 1
    return k


def accept(int fd):
    """accept4(2) a connection, non-blocking and close-on-exec from the
    start. Returns ``(fd, address)``: ``(host, port)`` for IPv4 and IPv6,
    the path for a Unix socket; or None when no connection is waiting
    (no exception for the end of every accept batch)."""
    cdef sockaddr_storage ss
    cdef socklen_t n = sizeof(ss)
    cdef char host[64]
    cdef Py_ssize_t k
    cdef int conn = c_accept4(fd, <sockaddr *>&ss, &n, SOCK_NONBLOCK | SOCK_CLOEXEC)
    if conn < 0:
        if errno == EAGAIN or errno == EWOULDBLOCK or errno == EINTR:
            return None
        PyErr_SetFromErrno(OSError)
    if ss.ss_family == AF_INET:
        k = _dotted_quad(<const unsigned char *>&(<sockaddr_in *>&ss).sin_addr, host)
        address = (host[:k].decode("ascii"), ntohs((<sockaddr_in *>&ss).sin_port))
    elif ss.ss_family == AF_INET6:
        inet_ntop(AF_INET6, &(<sockaddr_in6 *>&ss).sin6_addr, host, sizeof(host))
        address = (host.decode("ascii"), ntohs((<sockaddr_in6 *>&ss).sin6_port))
    elif ss.ss_family == AF_UNIX and n > sizeof(unsigned short):
        path = (<sockaddr_un *>&ss).sun_path
        address = path[:strnlen(path, n - sizeof(unsigned short))].decode("utf-8", "surrogateescape")
    else:
        address = ""
    return conn, address


cdef extern from "sys/socket.h" nogil:
    struct linger:
        int l_onoff
        int l_linger
    int c_setsockopt "setsockopt"(int fd, int level, int name, const void *value, socklen_t size)
    int c_shutdown "shutdown"(int fd, int how)
    int SOL_SOCKET, SO_LINGER, SHUT_WR

cdef extern from "unistd.h" nogil:
    int c_close "close"(int fd)


def shutdown_write(int fd):
    """shutdown(2) of the sending side (our FIN); raises OSError."""
    if c_shutdown(fd, SHUT_WR) < 0:
        PyErr_SetFromErrno(OSError)


def close(int fd, bint abort=False):
    """close(2) ``fd``, a descriptor from ``accept`` that no socket object
    holds. With ``abort``, SO_LINGER 0 first: the close sends RST and frees
    what is unsent at once. Errors are ignored: either way the descriptor
    is gone (close(2) releases it even when it reports an error)."""
    cdef linger lg
    if abort:
        lg.l_onoff = 1
        lg.l_linger = 0
        c_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))
    c_close(fd)
