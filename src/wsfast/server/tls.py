"""TLS for the server loop on ``ssl`` memory BIOs (``SSLObject``).

The loop reads and writes ciphertext on the socket as usual; this layer
turns it into plaintext for the sans-I/O connection and back, so wss://
uses the same loop, buffers and backpressure as ws://.
"""

from __future__ import annotations

import ssl

_READ_SIZE = 256 * 1024


class TLSClosed(Exception):
    """The peer ended the TLS session (close_notify)."""


class TLSLayer:
    __slots__ = ("_obj", "_incoming", "_outgoing", "handshaken")

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.handshaken = False

    def receive(self, data: bytes | bytearray | memoryview) -> bytes:
        """Ciphertext in; the plaintext it completes out (maybe b"").
        Raises ssl.SSLError for a bad peer and TLSClosed at close_notify."""
        self._incoming.write(data)
        if not self.handshaken:
            try:
                self._obj.do_handshake()
            except ssl.SSLWantReadError:
                return b""
            self.handshaken = True
        chunks = []
        while True:
            try:
                chunk = self._obj.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                raise TLSClosed() from None
            if not chunk:
                raise TLSClosed()
            chunks.append(chunk)
        return b"".join(chunks)

    def send(self, plaintext: bytes) -> bytes:
        """Plaintext in; the ciphertext to put on the socket out."""
        if plaintext:
            self._obj.write(plaintext)
        return self._outgoing.read()

    def pending(self) -> bytes:
        """Ciphertext produced by the handshake, waiting to be sent."""
        return self._outgoing.read()
