"""The blocking clients' reconnecting loop (``wsfast.client.connect_forever``;
the asyncio client's is ``async for ws in connect``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from .backoff import Backoff, is_normal_close, should_retry

logger = logging.getLogger("wsfast.client")


def reconnecting(
    open_connection: Callable[[], Any],
    backoff: Backoff,
    describe: str,
    sleep: Callable[[float], Any] = time.sleep,
) -> Iterator[Any]:
    """Yield connections from ``open_connection`` until one ends normally.

    After each iteration the connection is closed (with 1000 if still
    open): a normal close ends the loop, any other end opens the next
    connection after ``backoff``'s delay. A failed attempt is retried the
    same way if ``should_retry`` says so, else raised; so is the last one
    once ``max_attempts`` retries have failed in a row. Leaving the loop
    (``break``, an exception) closes the current connection.
    """
    while True:
        try:
            ws = open_connection()
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


def retry_delay(backoff: Backoff, describe: str, cause: BaseException | str) -> float:
    """The wait before the next attempt after ``cause`` (a failed attempt
    or "closed with <code>"), logged; once ``backoff`` gives up, ``cause``
    is raised (a ConnectionError for a close). Both reconnecting loops,
    blocking and asyncio, retry and give up through here."""
    delay = backoff.next_delay()
    if delay is None:
        logger.warning("%s: giving up after %d retries (%s)", describe, backoff.attempts, cause)
        if isinstance(cause, BaseException):
            raise cause
        raise ConnectionError("%s: giving up after %d retries (last: %s)"
                              % (describe, backoff.attempts, cause))
    logger.info("%s: %s; retry %d in %.2f s", describe, cause, backoff.attempts, delay)
    return delay


def _wait(backoff: Backoff, describe: str, cause: BaseException | str,
          sleep: Callable[[float], Any]) -> None:
    sleep(retry_delay(backoff, describe, cause))
