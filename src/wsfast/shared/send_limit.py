"""Refuse, before sending, a message the peer would refuse (close 1009)."""

from __future__ import annotations

from ..errors import MessageTooBig

__all__ = ["check_message_size"]


def check_message_size(data: str | bytes | bytearray | memoryview, limit: int | None) -> None:
    """Raise MessageTooBig if ``data`` encodes to more than ``limit``
    bytes (None or 0: no limit). Text is measured in UTF-8 bytes, encoding
    it only when its length alone cannot settle the question."""
    if not limit:
        return
    if isinstance(data, str):
        if len(data) * 4 <= limit:  # UTF-8 takes at most 4 bytes a character
            return
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, memoryview):
        size = data.nbytes
    else:
        size = len(data)
    if size > limit:
        raise MessageTooBig(size, limit)
