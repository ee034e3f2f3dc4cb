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

MAX_MESSAGE_SIZE = 64 * 1024 * 1024
