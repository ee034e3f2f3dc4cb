"""The chat demo across servers: two ``wsfast chat`` servers (two ports,
one with two workers) on one Redis, a page on each, in a real headless
Chromium: they see each other join, talk and leave."""

import subprocess
import sys
import time

import pytest

from redisutil import free_port, redis  # noqa: F401 (fixture)
from test_chat_browser import ARGS, CHROMIUM, _require


def _start_chat(url, workers):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wsfast", "chat", "--port", str(port),
                             "--workers", str(workers), "--redis", url, "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, port


def _wait_listening(proc, port):
    import socket

    deadline = time.monotonic() + 15
    while True:
        assert proc.poll() is None, "chat server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "chat server did not start"
            time.sleep(0.05)


def _wait_subscribers(redis, count):
    """Until ``count`` servers (worker processes) hold the room's channel."""
    deadline = time.monotonic() + 10
    while True:
        reply = redis.command(b"PUBSUB", b"NUMSUB", b"wsfast-chat:room")
        if reply[1] == count:
            return
        assert time.monotonic() < deadline, "the room has %d subscribing servers" % reply[1]
        time.sleep(0.05)


@pytest.fixture
def two_chats(redis):
    started = [_start_chat(redis.url, 2), _start_chat(redis.url, 1)]
    try:
        for proc, port in started:
            _wait_listening(proc, port)
        yield ["http://127.0.0.1:%d" % port for _, port in started]
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_pages_on_two_servers_talk_through_redis(two_chats, redis, tmp_path):
    _require()
    from playwright.sync_api import expect, sync_playwright

    first, second = two_chats
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        try:
            alice = browser.new_page()
            alice.goto(first + "/?name=alice")
            expect(alice.locator("#status")).to_have_text("connected as alice", timeout=10_000)
            _wait_subscribers(redis, 1)

            bob = browser.new_page()
            bob.goto(second + "/?name=bob")
            expect(bob.locator("#status")).to_have_text("connected as bob", timeout=10_000)
            _wait_subscribers(redis, 2)
            expect(alice.locator("#log")).to_contain_text("bob joined")

            alice.fill("#text", "hello bob, from the first server")
            alice.press("#text", "Enter")
            for page in (alice, bob):
                line = page.locator("#log li.message").last
                expect(line.locator(".name")).to_have_text("alice")
                expect(line.locator(".text")).to_have_text("hello bob, from the first server")
            # Ids are unique across servers: each page marks only its own lines.
            expect(alice.locator("#log li.message").last).to_have_class("message mine")
            expect(bob.locator("#log li.message").last).to_have_class("message")

            bob.fill("#text", "hi alice, from the second")
            bob.click("#send")
            for page in (alice, bob):
                line = page.locator("#log li.message").last
                expect(line.locator(".name")).to_have_text("bob")
                expect(line.locator(".text")).to_have_text("hi alice, from the second")
            expect(bob.locator("#log li.message").last).to_have_class("message mine")
            expect(alice.locator("#log li.message").last).to_have_class("message")

            bob.close()
            expect(alice.locator("#log")).to_contain_text("bob left")
            alice.screenshot(path=str(tmp_path / "chat-redis.png"))
        finally:
            browser.close()
