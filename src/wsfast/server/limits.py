"""Defaults for the server loop's limits (all are ``Server`` settings).

The frame, message, head and header limits live in ``wsfast.constants``
and ``wsfast.http``; these are the ones only a loop can enforce.
"""

import resource

from ..shared import backpressure

#: Seconds a client has to complete the TLS and HTTP upgrade handshake.
HANDSHAKE_TIMEOUT = 10.0
#: Seconds to wait for the peer's close frame, then for its FIN.
CLOSE_TIMEOUT = 10.0
#: Seconds of silence before a keepalive ping; 0 or None disables it.
PING_INTERVAL = 20.0
#: Seconds to wait for the pong before failing the connection with 1011.
PING_TIMEOUT = 20.0
#: The server's default ``compression_idle``: "adaptive", since its park
#: sweep (below) runs pings on or off. A busy connection keeps zlib's
#: streams (256 B JSON ping-pong: 36 us of server CPU per round trip
#: against 50 under "window"); one idle for a sweep interval holds the
#: window, as under "window". The protocol's own default
#: (``protocol.DEFAULT_COMPRESSION_IDLE``) stays "window" for drivers
#: that may never tick.
COMPRESSION_IDLE = "adaptive"
#: Seconds between sweeps that park the compression streams of connections
#: with no compressed message since the previous sweep
#: (``compression_idle="adaptive"``): a connection that goes quiet is back
#: to the window (4 KiB of zlib state each way at the defaults) within two
#: intervals, pings on or off; 0 or None disables the sweep.
COMPRESSION_PARK_INTERVAL = 2.0
#: After a sweep parks at least this many connections, give the freed heap
#: back to the system (glibc ``malloc_trim``; elsewhere nothing is done):
#: freed zlib state returns to malloc, not the system, so without it the
#: process keeps its peak size. At most once per sweep.
COMPRESSION_TRIM_MIN_PARKED = 64
#: Seconds a graceful shutdown waits for close handshakes before dropping.
SHUTDOWN_TIMEOUT = 5.0
# Write water marks and the output bound: one policy for every driver.
#: See ``wsfast.backpressure.WRITE_HIGH_WATER``.
WRITE_HIGH_WATER = backpressure.WRITE_HIGH_WATER
#: See ``wsfast.backpressure.WRITE_LOW_WATER``.
WRITE_LOW_WATER = backpressure.WRITE_LOW_WATER
#: See ``wsfast.backpressure.MAX_BUFFERED``.
MAX_BUFFERED = backpressure.MAX_BUFFERED
# (Dropped connections, here and on timeouts, are reset, so that the
# kernel does not keep their unsent output either.)
#: Frames of one read a connection handles per loop pass (``max_step_frames``;
#: the protocol's byte budget, ``max_step_bytes``, applies too); the rest
#: waits for the next pass, after every other connection's turn. Larger
#: than the protocol's own default: what a pass publishes leaves in one
#: write per subscriber when the pass ends, so a publisher whose read
#: holds many small messages costs far less handled in one pass than in
#: many (10,000 topics of 10: 4,096 frames cost 0.6x the CPU per
#: delivered message of 1,024); one read (at most the 256 KiB read
#: buffer) and PASS_STEP_FRAMES still bound the pass.
MAX_STEP_FRAMES = 4096
#: Frames all connections together handle per loop pass
#: (``pass_step_frames``): each connection read or stepped in a pass gets
#: this budget divided by how many there are, between MIN_STEP_FRAMES and
#: ``max_step_frames``. One busy publisher keeps its 4,096; 150 ping
#: flooders get 54 each, so that a pass, and a good client's wait, stays
#: short (p99 50-80 ms measured in the hostile suite, against 500-800 ms
#: with 1,024 frames each).
PASS_STEP_FRAMES = 8192
#: The least a connection's step may shrink to under PASS_STEP_FRAMES.
MIN_STEP_FRAMES = 16
#: Connections accepted per wakeup of a listening socket.
ACCEPT_BATCH = 128
#: listen() backlog.
BACKLOG = 1024
#: Connections refused with 503 beyond max_connections before new ones are
#: simply closed (they still cost a descriptor while the 503 goes out).
REFUSE_MARGIN = 256
#: Seconds accepting pauses after EMFILE/ENFILE.
ACCEPT_PAUSE = 0.1


def default_max_connections() -> int:
    """Connections per worker by default: what the open-file limit allows,
    leaving room for the process's own files, and at most 100,000."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, min(100_000, soft - 64))
