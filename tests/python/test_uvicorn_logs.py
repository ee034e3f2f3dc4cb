"""The uvicorn backend logs what uvicorn's websockets backend logs:
"connection open", "connection rejected (403 Forbidden)", "connection
closed" on the ``uvicorn.error`` logger."""

import asyncio
import logging

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import wsfast.asyncio as wsa  # noqa: E402
from wsfast.errors import InvalidResponse  # noqa: E402

from test_uvicorn_app import run, serve  # noqa: E402


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_connection_open_rejected_closed_lines():
    logger = logging.getLogger("uvicorn.error")
    handler = Lines()
    level = logger.level

    async def scenario():
        async with serve() as (url, _):
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)  # serve() configured it for "critical"
            async with wsa.connect(url + "/echo") as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
            for _ in range(200):
                if "connection closed" in handler.lines:
                    break
                await asyncio.sleep(0.01)
            with pytest.raises(InvalidResponse):
                await wsa.connect(url + "/forbidden")
            with pytest.raises(InvalidResponse):
                await wsa.connect(url + "/denied")

    try:
        run(scenario)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [line for line in handler.lines if line.startswith("connection")]
    assert lines == ["connection open", "connection closed",
                     "connection rejected (403 Forbidden)",
                     "connection rejected (401 Unauthorized)"]
