"""Exceptions shared by both backends."""


class WebSocketError(Exception):
    """Base class of every wsfast error."""


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455; the connection must close with ``code``.

    ``frames`` holds the frames parsed from the same input before the
    violation, so that a caller can still act on them in order.
    """

    def __init__(self, code, reason, frames=None):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.frames = frames if frames is not None else []

    def __str__(self):
        return "%s (close code %d)" % (self.reason, self.code)
