"""``async for ws in connect(url)``: one connection per iteration, with
retries after failed attempts and abnormal ends (``wsfast.backoff``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from ..shared.backoff import Backoff, is_normal_close, should_retry
from ..shared.reconnect import retry_delay
from ..protocol.events import OPEN

if TYPE_CHECKING:
    from .client import ClientWebSocket


async def reconnecting(
    open_connection: Callable[[], Awaitable[ClientWebSocket]],
    backoff: Backoff,
    describe: str,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncIterator[ClientWebSocket]:
    """Yield connections from ``open_connection`` until one ends normally.

    When the loop body hands control back (its iteration ends), the
    connection is closed with 1000 if it is still open, which ends the loop;
    if it ended abnormally (1006, 1011, ...) the next one is opened after
    ``backoff``'s delay. A failed attempt is retried the same way if
    ``should_retry`` says so, else raised; so is the last one when
    ``max_attempts`` retries have failed in a row. Leaving the loop with
    ``break`` or an exception closes the current connection.
    """
    loop = asyncio.get_running_loop()
    while True:
        try:
            ws = await open_connection()
        except Exception as exc:
            if not should_retry(exc):
                raise
            await _wait(backoff, describe, exc, sleep)
            continue
        opened_at = loop.time()
        try:
            yield ws
        finally:
            if ws.ready_state == OPEN:
                await ws.close()  # break, an exception, or the body returned
        await ws.wait_closed()
        if is_normal_close(ws.close_code):
            return
        if loop.time() - opened_at >= backoff.reset_after:
            backoff.reset()
        await _wait(backoff, describe, "closed with %s" % ws.close_code, sleep)


async def _wait(backoff: Backoff, describe: str, cause: BaseException | str,
                sleep: Callable[[float], Awaitable[object]]) -> None:
    await sleep(retry_delay(backoff, describe, cause))
