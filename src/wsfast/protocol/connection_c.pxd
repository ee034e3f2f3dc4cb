# connection_c, the compiled build of connection.py (one source, two builds): with the C
# extension, setup.py compiles a copy of connection.py as connection_c with these declarations, which
# make Connection's state C fields and its per-message methods C calls.
# The pure-Python module is the same code (see wsfast/_twins.py).
# Keep the attribute list in step with Connection.__slots__.

cimport cython


cdef class Connection:
    cdef public list _backlog
    cdef public Py_ssize_t _backlog_pos
    cdef public object _backlog_error
    cdef public bint _eof_pending
    cdef public object _unparsed
    cdef public object _deferred_failure, _deflate_idle, _deflater, _encoder, _impl, _inflater
    cdef public bint _inflating
    cdef public object _last_seen, _mem_level
    cdef public object _one  # a lone queued frame
    cdef public list _out  # two or more; None when empty
    cdef public object _parser, _ping_sent, _ping_sent_at, _plain_limit
    cdef public bint _received, _sending_fragments, _stream_compress, _z_busy
    cdef public int _stream_opcode
    cdef public object _stream_size, _window_bits
    cdef public bint auto_pong
    cdef public Py_ssize_t bytes_pending
    cdef public object close_code, close_reason, close_sent, compress_min_size
    cdef public object deflate, extensions, failure, failure_kind, handshake_error
    cdef public object max_frame_size, max_message_size
    cdef public Py_ssize_t max_step_bytes, max_step_frames
    cdef public int ready_state
    cdef public bint should_close, streaming
    cdef public object subprotocol
    cdef object __weakref__

    cpdef data_to_send(self)
    cpdef list chunks_to_send(self)
    cpdef take_output(self)
    cpdef _queue(self, frame)
    cpdef send(self, data, compress=*)
    @cython.locals(limit=Py_ssize_t, n=Py_ssize_t)
    cpdef receive_data(self, data)
    cpdef list _queue_frames(self, list frames, error)
    cpdef list _next_step(self)
    cpdef bint _parse_unparsed(self, Py_ssize_t count) except -1
    cpdef _keep_unparsed(self, data, Py_ssize_t consumed)
    cpdef Py_ssize_t _handle_frame(self, tuple frame, list events) except -1
    cpdef bint events_pending(self) except -1
    cpdef list next_events(self)
    cpdef send_prepared(self, prepared, plain=*)
    cpdef bytes prepared_frame(self, prepared)
    cpdef bint output_pending(self) except -1
    cpdef Py_ssize_t frames_pending(self) except -1
    cpdef _check_open(self)
    # Typed so that each copy is a C field store, not a setattr by name.
    cpdef _copy_state(self, Connection new)
    cpdef list _receive_handshake(self, data)
    # The handshake's and the close's steps, C calls rather than method
    # lookups by name (each about 1k instructions per handshake).
    cpdef _open(self, subprotocol, extensions, deflate)
    cpdef _new_parser(self)
    cpdef _send_close(self, code, reason, payload)
    cpdef _handle_close(self, payload, list events)
    cpdef list _after_backlog(self, list events)
    cpdef list receive_eof(self, bint discard=*)
    cpdef list _eof(self)
