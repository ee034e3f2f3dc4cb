# cython: language_level=3
"""The fields of the drop-in's data messages, set in C.

A ``TextMessage`` or ``BytesMessage`` is built for every message sent and
received; a Python ``__init__`` costs a frame per event, most of what
building one costs. ``events.Message`` takes its fields and constructor
from ``MessageFields`` when this is built (the same names, order and
defaults as its pure-Python fallback in events.py).
"""


cdef class MessageFields:
    """``data``, ``frame_finished`` and ``message_finished``."""

    cdef public object data
    cdef public object frame_finished
    cdef public object message_finished

    def __init__(self, data, frame_finished=True, message_finished=True):
        self.data = data
        self.frame_finished = frame_finished
        self.message_finished = message_finished
