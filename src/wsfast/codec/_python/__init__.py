"""The pure-Python backend: the same API as the C one, and its test oracle."""

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

BACKEND = "python"

__all__ = [
    "BACKEND",
    "Deflater",
    "FrameEncoder",
    "Inflater",
    "FrameParser",
    "UPGRADE_OFFERS",
    "UPGRADE_VALID",
    "UPGRADE_WEBSOCKET",
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
