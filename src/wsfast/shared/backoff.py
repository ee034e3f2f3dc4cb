"""When a reconnecting client retries: exponential backoff with jitter.

Sans-I/O like the protocol: this module decides delays and whether an
ending is worth a retry; the clients (``wsfast.asyncio.connect`` iterated
with ``async for``, ``wsfast.client.connect_forever``) own the clock and
the sleeping.
"""

from __future__ import annotations

import random as random_module
import ssl
from collections.abc import Callable

from ..protocol.closed import ConnectionClosed
from ..constants import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_NO_STATUS
from ..errors import InvalidResponse

__all__ = ["Backoff", "NORMAL_CLOSE_CODES", "is_normal_close", "should_retry"]

#: Close codes that end a reconnecting loop instead of starting a retry:
#: a completed close handshake that says "done" (1005: a close frame
#: without a code, which is still a clean close).
NORMAL_CLOSE_CODES = frozenset((CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_NO_STATUS))


class Backoff:
    """Delays between reconnection attempts.

    The n-th consecutive retry (n from 0) waits
    ``min(max_delay, initial_delay * factor ** n)`` scaled down by a random
    fraction of at most ``jitter`` (0: no jitter, 1: anywhere from 0 to the
    full delay), so that clients dropped together do not all come back at
    the same instant. ``max_attempts`` bounds the consecutive retries
    (None: retry forever). A connection that stays open for
    ``reset_after`` seconds resets the count, so a long-lived connection
    that drops is retried quickly again.
    """

    def __init__(
        self,
        initial_delay: float = 1.0,
        factor: float = 2.0,
        max_delay: float = 60.0,
        jitter: float = 0.5,
        max_attempts: int | None = None,
        reset_after: float = 30.0,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        if initial_delay < 0 or max_delay < initial_delay:
            raise ValueError("need 0 <= initial_delay <= max_delay")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if max_attempts is not None and max_attempts < 0:
            raise ValueError("max_attempts must be None or >= 0")
        self.initial_delay = initial_delay
        self.factor = factor
        self.max_delay = max_delay
        self.jitter = jitter
        self.max_attempts = max_attempts
        self.reset_after = reset_after
        self._random = random
        #: Consecutive retries so far (reset by ``reset``).
        self.attempts = 0

    def next_delay(self) -> float | None:
        """The delay before the next retry, or None when ``max_attempts``
        retries have been made in a row."""
        if self.max_attempts is not None and self.attempts >= self.max_attempts:
            return None
        # Grow until the cap without computing huge powers.
        base = self.initial_delay
        for _ in range(self.attempts):
            base *= self.factor
            if base >= self.max_delay:
                break
        base = min(base, self.max_delay)
        self.attempts += 1
        return base * (1.0 - self.jitter * self._random())

    def reset(self) -> None:
        """Start again from ``initial_delay`` (a connection went well)."""
        self.attempts = 0

    def __repr__(self) -> str:
        return ("Backoff(initial_delay=%r, factor=%r, max_delay=%r, jitter=%r, "
                "max_attempts=%r, reset_after=%r)" % (
                    self.initial_delay, self.factor, self.max_delay, self.jitter,
                    self.max_attempts, self.reset_after))


def is_normal_close(code: int | None) -> bool:
    """Whether a connection that ended with ``code`` ended normally."""
    return code in NORMAL_CLOSE_CODES


def should_retry(exc: BaseException) -> bool:
    """Whether a failed connection attempt is worth retrying.

    Network errors and timeouts are (the server may be restarting), and so
    is an HTTP 5xx answer or a connection lost during the handshake; a 4xx
    answer is not (retrying will not fix a wrong path or a refused
    token), nor is a certificate that fails verification, an invalid URI
    or any other error.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False  # a wrong certificate stays wrong
    if isinstance(exc, InvalidResponse):
        return exc.status is None or exc.status >= 500
    if isinstance(exc, ConnectionClosed):
        return not is_normal_close(exc.code)
    return isinstance(exc, (OSError, TimeoutError))
