# Compiled build of http.py (see wsfast/protocol/connection_c.pxd): the request head's objects
# as C structs, read several times per handshake. Keep in step with the
# classes' __slots__ and __init__.
cimport cython


# Per request: a C call.
cpdef tuple _split_target(target)

cdef class Headers:
    cdef public object _items
    cdef public object _index


cdef class Request:
    cdef public object method, http_version
    cdef public object _target, _headers, _raw_path, _path, _query_string, _head
    cdef public object _websocket, _upgrade_key, _offers

    cpdef _expand(self)
    cpdef _split(self)


cdef class Response:
    cdef public object status, reason, http_version, headers


cdef class _HeadReader:
    cdef public object max_head_size, max_headers, _parser_class, _parser, _checker, remaining
    cdef public bytearray _buf
    cdef public Py_ssize_t _fed, _checked, _scan
    cdef public list _url, _status, _headers
    cdef public bint _headers_done, _message_done, _done

    @cython.locals(pair=tuple, name=bytes, value=bytes, items=list)
    cpdef _make_headers(self)


cdef class RequestReader(_HeadReader):
    pass


cdef class ResponseReader(_HeadReader):
    pass


# A server's first read: a C call from server_connection_c, C fields set.
@cython.locals(request=Request, head_len=Py_ssize_t, upgrade=int, whole=bint)
cpdef tuple read_whole_head(data, Py_ssize_t max_head_size, Py_ssize_t max_headers)
