"""The cffi backend: csrc/ through cffi, with the C backend's names and
behaviour (``wsfast.codec._core``). The fast path to C on PyPy, where a
Cython extension runs through the slow C-API emulation; on CPython it
works too, a little slower per call than the Cython bridge.

Importing it raises ImportError when the extension ``_ffi`` was not built.
"""

from .deflate import Deflater, Inflater
from .frame import (
    FrameEncoder,
    FrameParser,
    check_close_payload,
    close_code_valid,
    encode_frame,
)
from .http_head import (
    UPGRADE_OFFERS,
    UPGRADE_VALID,
    UPGRADE_WEBSOCKET,
    parse_request_head,
    websocket_accept,
)
from .mask import apply_mask, apply_mask_with, mask_kernel, mask_kernels
from .utf8 import Utf8Validator, validate_utf8
from ...constants import DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, MASK_POOL_SIZE

BACKEND = "cffi"

__all__ = [
    "BACKEND",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MASK_POOL_SIZE",
    "UPGRADE_OFFERS",
    "UPGRADE_VALID",
    "UPGRADE_WEBSOCKET",
    "Deflater",
    "FrameEncoder",
    "Inflater",
    "FrameParser",
    "Utf8Validator",
    "apply_mask",
    "apply_mask_with",
    "check_close_payload",
    "close_code_valid",
    "encode_frame",
    "mask_kernel",
    "mask_kernels",
    "parse_request_head",
    "validate_utf8",
    "websocket_accept",
]
