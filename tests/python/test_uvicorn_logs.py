"""The uvicorn backend logs what uvicorn's websockets backend logs:
"connection open", "connection rejected (403 Forbidden)", "connection
closed" on the ``uvicorn.error`` logger."""

import asyncio
import importlib.util
import logging
import os

import pytest

_missing = [m for m in ("uvicorn", "starlette", "websockets") if importlib.util.find_spec(m) is None]
if _missing:
    # Under CI, .ci/run installs the test extra: a skip would hide a regression.
    if os.environ.get("CI"):
        raise ImportError("CI must install %s for the uvicorn log tests" % " and ".join(_missing))
    pytest.skip("needs %s" % " and ".join(_missing), allow_module_level=True)

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
