"""``for ws in wsfast.client.connect_forever(url)``: the blocking client's
reconnecting loop (the asyncio client's is ``async for ws in connect``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .backoff import Backoff, is_normal_close, should_retry
from .uri import parse_uri

if TYPE_CHECKING:
    from .client import ClientWebSocket

logger = logging.getLogger("wsfast.client")


def connect_forever(
    url: str,
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    **options: Any,
) -> Iterator[ClientWebSocket]:
    """Yield a connection to ``url`` per iteration, reconnecting after
    abnormal ends, until one closes normally.

    ``options`` are those of ``wsfast.client.connect``. After each
    iteration the connection is closed (with 1000 if still open): a normal
    close (1000, 1001, 1005) ends the loop, any other end (1006 for a lost
    connection, 1011, ...) opens the next connection after ``backoff``'s
    delay (``wsfast.backoff.Backoff``: exponential with jitter). A failed
    attempt (network error, timeout, HTTP 5xx) is retried the same way;
    other errors (HTTP 4xx, an invalid URI) are raised, and so is the last
    failure once ``max_attempts`` retries have failed in a row. ``break``
    closes the current connection. ``sleep`` waits between attempts.
    """
    from .client import connect  # the client module re-exports this one

    uri = parse_uri(url)  # type: ignore[no-untyped-call]  # fails here, before any attempt
    describe = "%s://%s:%d%s" % ("wss" if uri.secure else "ws", uri.host, uri.port,
                                 uri.resource.partition("?")[0])
    backoff = backoff if backoff is not None else Backoff()
    while True:
        try:
            ws = connect(url, **options)
        except Exception as exc:
            if not should_retry(exc):
                raise
            _wait(backoff, describe, exc, sleep)
            continue
        opened_at = time.monotonic()
        try:
            yield ws
        finally:
            ws.close()  # 1000 if still open; else just the socket
        if is_normal_close(ws.close_code):
            return
        if time.monotonic() - opened_at >= backoff.reset_after:
            backoff.reset()
        _wait(backoff, describe, "closed with %s" % ws.close_code, sleep)


def _wait(backoff: Backoff, describe: str, cause: BaseException | str,
          sleep: Callable[[float], Any]) -> None:
    delay = backoff.next_delay()
    if delay is None:
        logger.warning("%s: giving up after %d retries (%s)", describe, backoff.attempts, cause)
        if isinstance(cause, BaseException):
            raise cause
        raise ConnectionError("%s: giving up after %d retries (last: %s)"
                              % (describe, backoff.attempts, cause))
    logger.info("%s: %s; retry %d in %.2f s", describe, cause, backoff.attempts, delay)
    sleep(delay)
