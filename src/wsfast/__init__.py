"""wsfast: a fast, strict WebSocket library (RFC 6455, RFC 7692).

``wsfast.backend`` is ``"c"`` when the compiled core is in use through
Cython, ``"cffi"`` through cffi (PyPy's default), and ``"python"`` for the
pure-Python fallback (WSFAST_NO_EXTENSIONS=1); WSFAST_BACKEND chooses.
"""

from . import _moved, constants
from .codec.backend import backend, impl as _impl
from .constants import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
)
from .errors import ProtocolError, WebSocketError
from .protocol.events import CLOSED, CLOSING, CONNECTING, OPEN  # ready_state, named as in browsers

__version__ = "0.1.0"

_moved.install()  # the old paths of moved modules (wsfast.events, wsfast.uvicorn, ...)

apply_mask = _impl.apply_mask
validate_utf8 = _impl.validate_utf8
Utf8Validator = _impl.Utf8Validator
FrameParser = _impl.FrameParser
FrameEncoder = _impl.FrameEncoder
encode_frame = _impl.encode_frame
close_code_valid = _impl.close_code_valid
mask_kernel = _impl.mask_kernel
Deflater = _impl.Deflater
Inflater = _impl.Inflater
mask_kernels = _impl.mask_kernels

__all__ = [
    "CLOSED",
    "CLOSING",
    "CONNECTING",
    "OPEN",
    "Deflater",
    "Inflater",
    "FrameEncoder",
    "FrameParser",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "ProtocolError",
    "Utf8Validator",
    "WebSocketError",
    "apply_mask",
    "backend",
    "close_code_valid",
    "constants",
    "encode_frame",
    "mask_kernel",
    "mask_kernels",
    "validate_utf8",
]
