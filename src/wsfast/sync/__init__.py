"""The blocking client: ``connect`` (also importable as ``wsfast.client``)."""

from .client import ClientWebSocket, connect

__all__ = ["ClientWebSocket", "connect"]
