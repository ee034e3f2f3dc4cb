"""Reconnecting clients: ``async for ws in wsfast.asyncio.connect(url)`` and
``for ws in wsfast.client.connect_forever(url)`` against a server that
drops connections (abortively and with 1011), refuses handshakes (503,
403) or is not there at all; delays shortened, or slept by a fake clock."""

import asyncio
import socket
import threading
import time

import pytest

import wsfast.asyncio as wsa
from wsfast.backoff import Backoff, should_retry
from wsfast.client import connect_forever
from wsfast.closed import ConnectionClosedError
from wsfast.errors import InvalidResponse
from wsfast.handshake import Reject

from serverloop import running


class RecordingBackoff(Backoff):
    """A Backoff that remembers every delay it handed out."""

    def __init__(self, **kw):
        kw.setdefault("jitter", 0)
        super().__init__(**kw)
        self.given = []

    def next_delay(self):
        delay = super().next_delay()
        self.given.append(delay)
        return delay


class Dropper:
    """Server handlers that end the n-th connection as ``plan[n]`` says:
    on its first message: "rst" (TCP reset, no close frame), a close code,
    or "open" (left open); "rst-in-handshake" resets it as it opens."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.opened_at = []
        self.closes = []
        self.lock = threading.Lock()

    def on_open(self, ws):
        with self.lock:
            ws.data["n"] = len(self.opened_at)
            self.opened_at.append(time.monotonic())
        if self._action(ws) == "rst-in-handshake":
            ws.terminate()  # the client sees the handshake fail

    def on_message(self, ws, message):
        action = self._action(ws)
        if action == "rst":
            ws.terminate()
        elif isinstance(action, int):
            ws.close(action, "planned")

    def _action(self, ws):
        n = ws.data["n"]
        return self.plan[n] if n < len(self.plan) else 1000

    def on_close(self, ws, code, reason):
        self.closes.append(code)


def _serve(dropper, **options):
    return running(on_open=dropper.on_open, on_message=dropper.on_message,
                   on_close=dropper.on_close, **options)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the policy --------------------------------------------------------------


def test_backoff_grows_by_factor_and_is_capped():
    b = Backoff(initial_delay=1, factor=3, max_delay=20, jitter=0)
    assert [b.next_delay() for _ in range(6)] == [1, 3, 9, 20, 20, 20]
    b.reset()
    assert b.next_delay() == 1


def test_backoff_jitter_scales_down_by_at_most_the_jitter_fraction():
    draws = iter([0.0, 1.0, 0.5])
    b = Backoff(initial_delay=10, factor=1, max_delay=10, jitter=0.4, random=lambda: next(draws))
    assert [b.next_delay() for _ in range(3)] == pytest.approx([10, 6, 8])
    spread = Backoff(initial_delay=10, factor=1, max_delay=10, jitter=1)
    delays = {spread.next_delay() for _ in range(50)}
    assert len(delays) > 40 and all(0 <= d <= 10 for d in delays)


def test_backoff_max_attempts():
    b = Backoff(initial_delay=1, max_attempts=2, jitter=0)
    assert [b.next_delay(), b.next_delay(), b.next_delay()] == [1, 2, None]
    with pytest.raises(ValueError):
        Backoff(initial_delay=5, max_delay=1)
    with pytest.raises(ValueError):
        Backoff(jitter=2)


def test_which_failures_are_retried():
    assert should_retry(ConnectionRefusedError())
    assert should_retry(TimeoutError())
    assert should_retry(InvalidResponse("x", 503))
    assert should_retry(InvalidResponse("lost during the handshake"))
    assert not should_retry(InvalidResponse("x", 403))
    assert not should_retry(ValueError("bad URI"))


# -- asyncio -------------------------------------------------------------------


async def _iterate(url, backoff, ends):
    async for ws in wsa.connect(url, backoff=backoff, open_timeout=5):
        try:
            await ws.send("hi")
            async for _ in ws:
                pass
        except ConnectionClosedError as exc:
            ends.append(exc.code)
            continue
        ends.append(ws.close_code)


def test_asyncio_reconnects_after_resets_and_1011_and_stops_on_1000():
    dropper = Dropper(["rst", 1011, "rst-in-handshake", "rst", 1000])
    backoff = RecordingBackoff(initial_delay=0.05, factor=2, max_delay=0.15)
    ends = []
    with _serve(dropper) as server:
        asyncio.run(asyncio.wait_for(
            _iterate("ws://127.0.0.1:%d/" % server.port, backoff, ends), 20))
    # The third attempt failed in its handshake: retried, never yielded.
    assert ends == [1006, 1011, 1006, 1000]
    assert backoff.given == pytest.approx([0.05, 0.1, 0.15, 0.15])  # grows, then capped
    gaps = [b - a for a, b in zip(dropper.opened_at, dropper.opened_at[1:])]
    for gap, delay in zip(gaps, backoff.given):
        assert delay - 0.01 <= gap < delay + 2


def test_asyncio_retries_503_then_connects_and_raises_403_at_once():
    answers = [503, 503, None]
    seen = []

    def hook(request, remote_address):
        seen.append(1)
        status = answers[len(seen) - 1] if len(seen) <= len(answers) else 403
        return Reject(status) if status else None

    dropper = Dropper([1000])
    backoff = RecordingBackoff(initial_delay=0.01, factor=2, max_delay=1)
    ends = []
    with _serve(dropper, handshake_hook=hook) as server:
        url = "ws://127.0.0.1:%d/" % server.port
        asyncio.run(asyncio.wait_for(_iterate(url, backoff, ends), 20))
        assert ends == [1000] and backoff.given == pytest.approx([0.01, 0.02])
        del answers[:]  # every later handshake: 403, not worth a retry
        seen.clear()
        with pytest.raises(InvalidResponse) as info:
            asyncio.run(asyncio.wait_for(_iterate(url, RecordingBackoff(initial_delay=0.01), []), 20))
        assert info.value.status == 403 and len(seen) == 1


def test_asyncio_gives_up_after_max_attempts_on_a_refused_port():
    backoff = RecordingBackoff(initial_delay=0.01, factor=2, max_delay=1, max_attempts=3)
    url = "ws://127.0.0.1:%d/" % _free_port()
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(asyncio.wait_for(_iterate(url, backoff, []), 20))
    assert backoff.given == pytest.approx([0.01, 0.02, 0.04, None])


def test_asyncio_break_closes_with_1000_and_await_still_works():
    dropper = Dropper(["open"])

    async def main(url):
        async for ws in wsa.connect(url, backoff=Backoff(initial_delay=0.01)):
            break
        await asyncio.sleep(0)  # let the finished generator be closed
        deadline = time.monotonic() + 20
        while not dropper.closes and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        plain = await wsa.connect(url)  # the old ways are unchanged
        await plain.close()
        async with wsa.connect(url) as ws:
            assert ws.ready_state == wsa.OPEN

    with _serve(dropper) as server:
        asyncio.run(asyncio.wait_for(main("ws://127.0.0.1:%d/" % server.port), 40))
        deadline = time.monotonic() + 20
        while len(dropper.closes) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert dropper.closes[0] == 1000 and len(dropper.opened_at) == 3


# -- blocking ------------------------------------------------------------------


def test_blocking_reconnects_with_a_fake_clock():
    dropper = Dropper([1011, "rst", 1011, "rst", 1001])
    slept = []
    # Delays that would take 2 minutes on a real clock: far from what a
    # loaded machine needs for the five connections.
    backoff = RecordingBackoff(initial_delay=10, factor=2, max_delay=50)
    ends = []
    started = time.monotonic()
    with _serve(dropper) as server:
        for ws in connect_forever("ws://127.0.0.1:%d/" % server.port, backoff=backoff,
                                  sleep=slept.append, open_timeout=5):
            try:
                ws.send("hi")
                for _ in ws:
                    pass
            except ConnectionClosedError as exc:
                ends.append(exc.code)
                continue
            ends.append(ws.close_code)
    assert ends == [1011, 1006, 1011, 1006, 1001]
    assert slept == [10, 20, 40, 50]  # what a real clock would have slept
    assert time.monotonic() - started < 60


def test_blocking_break_closes_the_connection_normally():
    dropper = Dropper(["open"])
    with _serve(dropper) as server:
        for ws in connect_forever("ws://127.0.0.1:%d/" % server.port):
            ws.send("hi")
            break
        deadline = time.monotonic() + 20
        while not dropper.closes and time.monotonic() < deadline:
            time.sleep(0.02)
    assert dropper.closes == [1000] and len(dropper.opened_at) == 1


def test_blocking_invalid_uri_fails_before_any_attempt():
    with pytest.raises(ValueError):
        next(connect_forever("http://127.0.0.1/"))


def test_a_connection_open_for_reset_after_starts_the_delays_again():
    dropper = Dropper([1011, 1011, 1000])
    slept = []
    quick = RecordingBackoff(initial_delay=1, factor=2, max_delay=5, reset_after=0)
    with _serve(dropper) as server:
        for ws in connect_forever("ws://127.0.0.1:%d/" % server.port, backoff=quick,
                                  sleep=slept.append):
            try:
                ws.send("hi")
                for _ in ws:
                    pass
            except ConnectionClosedError:
                continue
    assert slept == [1, 1]  # every connection was "long enough": no growth
