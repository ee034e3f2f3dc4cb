"""Types of the compiled message fields (``_records.pyx``)."""

from typing import Any

class MessageFields:
    data: Any
    frame_finished: bool
    message_finished: bool
    def __init__(self, data: Any, frame_finished: bool = True,
                 message_finished: bool = True) -> None: ...
