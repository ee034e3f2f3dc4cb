"""Opcodes, close codes and default limits (RFC 6455)."""

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_NO_STATUS = 1005  # never on the wire
CLOSE_ABNORMAL = 1006  # never on the wire
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_MANDATORY_EXTENSION = 1010
CLOSE_INTERNAL_ERROR = 1011
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013

#: Largest frame payload accepted by default (bytes). Also the default
#: message limit: a peer can make the parser hold at most this much.
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024
#: Largest message accepted by default, summed over its fragments.
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024

#: Size of the pool of OS random bytes that client mask keys are cut from.
MASK_POOL_SIZE = 8192
