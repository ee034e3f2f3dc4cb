# _connection_c, the compiled build of _connection.py (one source, two
# builds, see wsfast/_twins.py): with the C extension, setup.py compiles a
# copy of _connection.py with these declarations, which make Connection's
# state C fields. Keep the attribute list in step with Connection.__slots__.

cdef class Connection:
    cdef public bint client
    cdef public object max_message_size
    cdef public object _state, _events, _parser, _encoder, _frames, _error
    cdef public bint _stopped
    cdef public object _deflater, _inflater
    cdef public int _in_opcode
    cdef public bint _in_compressed
    cdef public object _in_decoder, _in_size
    cdef public int _out_opcode
    cdef public object _extensions, _encode
    cdef public bint _whole
    cdef object __weakref__
