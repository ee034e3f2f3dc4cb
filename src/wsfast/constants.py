"""Opcodes, close codes and default limits (RFC 6455)."""

#: Opcode of a continuation frame (a message's later fragments).
OP_CONT = 0x0
#: Opcode of a text frame (UTF-8).
OP_TEXT = 0x1
#: Opcode of a binary frame.
OP_BINARY = 0x2
#: Opcode of a Close frame.
OP_CLOSE = 0x8
#: Opcode of a Ping frame.
OP_PING = 0x9
#: Opcode of a Pong frame.
OP_PONG = 0xA

#: Close code: normal closure, the purpose is fulfilled.
CLOSE_NORMAL = 1000
#: Close code: an endpoint is going away (server shutdown, page left).
CLOSE_GOING_AWAY = 1001
#: Close code: the peer broke the protocol.
CLOSE_PROTOCOL_ERROR = 1002
#: Close code: a data type the endpoint cannot accept (text or binary).
CLOSE_UNSUPPORTED_DATA = 1003
#: Close code reported when a Close frame had no code; never sent on the wire.
CLOSE_NO_STATUS = 1005
#: Close code reported when the connection ended without a Close frame; never sent on the wire.
CLOSE_ABNORMAL = 1006
#: Close code: a message's data did not match its type (invalid UTF-8 in text).
CLOSE_INVALID_DATA = 1007
#: Close code: the message broke the endpoint's policy.
CLOSE_POLICY_VIOLATION = 1008
#: Close code: a message was over the receiver's ``max_message_size``.
CLOSE_TOO_BIG = 1009
#: Close code (client only): the server did not negotiate an extension the client requires.
CLOSE_MANDATORY_EXTENSION = 1010
#: Close code: the server met an unexpected condition.
CLOSE_INTERNAL_ERROR = 1011
#: Close code: the service is restarting; reconnect later.
CLOSE_SERVICE_RESTART = 1012
#: Close code: the server is overloaded; try again later.
CLOSE_TRY_AGAIN_LATER = 1013

#: Largest frame payload accepted by default (bytes). Also the default
#: message limit: a peer can make the parser hold at most this much.
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024
#: Largest message accepted by default, summed over its fragments.
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024

#: Size of the pool of OS random bytes that client mask keys are cut from.
MASK_POOL_SIZE = 8192
