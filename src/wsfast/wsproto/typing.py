"""``wsproto.typing``: the header list type."""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]
