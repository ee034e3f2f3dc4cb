"""The chat page end to end in a real headless Chromium (Playwright).

Needs Debian's ``chromium`` and the ``playwright`` package; the browser is
never downloaded (no ``playwright install``). Skipped when either is
missing, except under CI, where .ci/run installs both and a skip would
hide a broken page.
"""

import os
import shutil
import subprocess
import sys
import time
import socket

import pytest

CHROMIUM = os.environ.get("WSFAST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright")
    if not CHROMIUM:
        missing.append("chromium")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must install %s for the browser test" % " and ".join(missing))
        pytest.skip("needs %s" % " and ".join(missing))


@pytest.fixture
def chat_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "wsfast", "chat", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, proc.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "chat server did not start"
            time.sleep(0.05)
    try:
        yield "http://127.0.0.1:%d" % port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_pages_chat_join_and_leave(chat_server, tmp_path):
    _require()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        try:
            alice = browser.new_page()
            alice.goto(chat_server + "/?name=alice")
            expect(alice.locator("#status")).to_have_text("connected as alice", timeout=10_000)

            bob = browser.new_page()
            bob.goto(chat_server + "/?name=bob")
            expect(bob.locator("#status")).to_have_text("connected as bob", timeout=10_000)
            expect(bob.locator("#log")).to_contain_text("Here: alice")
            expect(alice.locator("#log")).to_contain_text("bob joined")

            alice.fill("#text", "hello bob <b>not bold</b>")
            alice.press("#text", "Enter")
            for page in (alice, bob):
                line = page.locator("#log li.message").last
                expect(line).to_have_text("alicehello bob <b>not bold</b>")
                assert page.locator("#log li.message b").count() == 0  # text, never markup

            bob.fill("#text", "hi alice")
            bob.click("#send")
            expect(alice.locator("#log li.message").last).to_have_text("bobhi alice")

            bob.close()
            expect(alice.locator("#log")).to_contain_text("bob left")
            alice.screenshot(path=str(tmp_path / "chat.png"))
        finally:
            browser.close()
