# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The C backend: a thin bridge from Python objects to csrc/.

One extension module, so csrc/ is linked once; each concern lives in its
own include file.
"""
cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_SIZE
from cpython.mem cimport PyMem_Realloc, PyMem_Free
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy

from wsfast.codec._csrc cimport *

BACKEND = "c"

include "_mask.pxi"
include "_utf8.pxi"
include "_frame.pxi"
include "_deflate.pxi"
include "_http_head.pxi"
