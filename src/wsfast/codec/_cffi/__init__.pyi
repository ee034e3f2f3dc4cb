# The cffi backend has the compiled one's names and signatures (checked
# against the running code by ``mypy.stubtest`` in tests/typing).
from wsfast.codec._core import (
    DEFAULT_MAX_FRAME_SIZE as DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE as DEFAULT_MAX_MESSAGE_SIZE,
    MASK_POOL_SIZE as MASK_POOL_SIZE,
    Deflater as Deflater,
    FrameEncoder as FrameEncoder,
    FrameParser as FrameParser,
    Inflater as Inflater,
    Utf8Validator as Utf8Validator,
    apply_mask as apply_mask,
    apply_mask_with as apply_mask_with,
    check_close_payload as check_close_payload,
    close_code_valid as close_code_valid,
    encode_frame as encode_frame,
    mask_kernel as mask_kernel,
    mask_kernels as mask_kernels,
    validate_utf8 as validate_utf8,
    UPGRADE_OFFERS as UPGRADE_OFFERS,
    UPGRADE_VALID as UPGRADE_VALID,
    UPGRADE_WEBSOCKET as UPGRADE_WEBSOCKET,
    parse_request_head as parse_request_head,
    websocket_accept as websocket_accept,
)

BACKEND: str
__all__ = [
    "BACKEND", "DEFAULT_MAX_FRAME_SIZE", "DEFAULT_MAX_MESSAGE_SIZE", "MASK_POOL_SIZE",
    "Deflater", "FrameEncoder", "Inflater", "FrameParser", "Utf8Validator",
    "apply_mask", "apply_mask_with", "check_close_payload", "close_code_valid",
    "encode_frame", "mask_kernel", "mask_kernels", "validate_utf8",
    "UPGRADE_OFFERS", "UPGRADE_VALID", "UPGRADE_WEBSOCKET", "parse_request_head",
    "websocket_accept",
]
