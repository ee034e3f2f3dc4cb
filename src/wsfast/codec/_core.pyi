"""Types of the compiled codec (``_core.pyx``); ``wsfast.codec._python`` has the
same names with the same signatures."""

from collections.abc import Iterable
from typing import Final, Literal, final

from typing_extensions import disjoint_base

from _typeshed import ReadableBuffer

BACKEND: Final[str]
DEFAULT_MAX_FRAME_SIZE: Final[int]
DEFAULT_MAX_MESSAGE_SIZE: Final[int]
MASK_POOL_SIZE: Final[int]

#: One parsed frame (or, when reassembling, one whole message):
#: ``(opcode, payload, fin, rsv1)``.
_Frame = tuple[int, bytes, bool, bool]
_IdleMode = Literal["keep", "window"]

def apply_mask(data: ReadableBuffer, key: ReadableBuffer, phase: int = 0) -> bytes: ...
def apply_mask_with(kernel: str, data: ReadableBuffer, key: ReadableBuffer, phase: int = 0) -> bytes: ...
def mask_kernels() -> list[str]: ...
def mask_kernel() -> str: ...
def validate_utf8(data: ReadableBuffer) -> bool: ...

@disjoint_base
class Utf8Validator:
    def __init__(self) -> None: ...
    def reset(self) -> None: ...
    @property
    def complete(self) -> bool: ...
    @property
    def valid(self) -> bool: ...
    def feed(self, data: ReadableBuffer) -> bool: ...

def close_code_valid(code: int) -> bool: ...
def check_close_payload(payload: ReadableBuffer) -> None: ...

@final
class FrameParser:
    @property
    def server(self) -> bool: ...
    @property
    def reassemble(self) -> bool: ...
    @property
    def allow_rsv1(self) -> bool: ...
    @property
    def validate_utf8(self) -> bool: ...
    @property
    def consumed(self) -> int: ...
    def __init__(
        self,
        server: bool,
        *,
        max_frame_size: int | None = ...,
        max_message_size: int | None = ...,
        allow_rsv1: bool = False,
        reassemble: bool = True,
        validate_utf8: bool = True,
    ) -> None: ...
    @property
    def max_frame_size(self) -> int: ...
    @property
    def max_message_size(self) -> int: ...
    @property
    def in_message(self) -> bool: ...
    def feed(self, data: ReadableBuffer, max_frames: int = 0) -> list[_Frame]: ...

def encode_frame(
    opcode: int,
    payload: ReadableBuffer,
    fin: bool = True,
    rsv1: bool = False,
    mask: ReadableBuffer | None = None,
) -> bytes: ...

@disjoint_base
class FrameEncoder:
    @property
    def client(self) -> bool: ...
    def __init__(self, client: bool) -> None: ...
    def encode(self, opcode: int, payload: ReadableBuffer, fin: bool = True, rsv1: bool = False) -> bytes: ...
    def encode_many(self, frames: Iterable[tuple[int, ReadableBuffer]]) -> bytes: ...

@disjoint_base
class Deflater:
    def __init__(
        self,
        window_bits: int = 12,
        mem_level: int = 5,
        level: int = -1,
        no_context_takeover: bool = False,
        release: bool = False,
        idle: _IdleMode = "keep",
    ) -> None: ...
    @property
    def window_bits(self) -> int: ...
    @property
    def memory(self) -> int: ...
    def compress(self, data: ReadableBuffer, final: bool = True) -> bytes: ...
    def release(self) -> None: ...

@disjoint_base
class Inflater:
    def __init__(
        self,
        window_bits: int = 15,
        max_size: int | None = ...,
        no_context_takeover: bool = False,
        release: bool = False,
        idle: _IdleMode = "keep",
    ) -> None: ...
    @property
    def max_size(self) -> int: ...
    @property
    def memory(self) -> int: ...
    def decompress(self, data: ReadableBuffer, final: bool = True, text: bool = False) -> bytes: ...
    def release(self) -> None: ...

# The handshake's request head (csrc/http_head.c); None means "use the
# general parser". The pure-Python backend always returns None.
UPGRADE_WEBSOCKET: Final[int]
UPGRADE_VALID: Final[int]
UPGRADE_OFFERS: Final[int]

def parse_request_head(
    data: ReadableBuffer, max_head_size: int, max_headers: int
) -> tuple[str, tuple[str, ...], int, int, str | None] | None: ...
def websocket_accept(key: str | bytes) -> bytes: ...
