"""The drop-in's limits. wsproto has none; these are read when a
``Connection`` is created, so a program may change them (or pass
``max_message_size=`` to ``Connection``) before it accepts connections.

``MAX_MESSAGE_SIZE`` bounds one received message after inflating (close
1009 beyond it) and one frame on the wire. wsproto hands over a frame's
payload in pieces as it arrives; the drop-in hands over whole frames, so a
frame is held until complete and this bound also caps what one peer can
make a connection buffer. The default, 64 MiB, is above hypercorn's own
``websocket_max_message_size`` (16 MiB) and the consumers' test messages.
"""

from __future__ import annotations

from typing import Literal

#: Largest received message (after inflating) and frame, in bytes.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024

#: What a compressing connection keeps between messages under context
#: takeover: "keep" (zlib's whole state, as wsproto: about 260 KiB to send
#: and 40 KiB to receive at its 15-bit windows) or "window" (only the last
#: 32 KiB each way; zlib is re-primed for each message, which costs about
#: 55 us per compressed message at 15 bits). "keep" is the default: the
#: same memory as wsproto, and less CPU.
COMPRESSION_IDLE: Literal["keep", "window"] = "keep"
