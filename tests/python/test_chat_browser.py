"""The chat page end to end in a real headless Chromium (Playwright).

Needs Debian's ``chromium`` and the ``playwright`` package; the browser is
never downloaded (no ``playwright install``). Skipped when either is
missing, except under CI, where .ci/run installs both and a skip would
hide a broken page.
"""

import os
import re
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
                expect(line.locator(".name")).to_have_text("alice")
                expect(line.locator(".text")).to_have_text("hello bob <b>not bold</b>")
                assert page.locator("#log li.message b").count() == 0  # text, never markup
                # a timestamp as HH:MM in the page's locale, with its ISO form
                assert re.fullmatch(r"\d{1,2}:\d{2}( [AP]M)?", line.locator("time").inner_text())
                assert line.locator("time").get_attribute("datetime").endswith("Z")
            # Your own lines are marked; the others' are not.
            expect(alice.locator("#log li.message").last).to_have_class(re.compile(r"\bmine\b"))
            expect(bob.locator("#log li.message").last).not_to_have_class(re.compile(r"\bmine\b"))

            bob.fill("#text", "hi alice")
            bob.click("#send")
            expect(alice.locator("#log li.message").last.locator(".text")).to_have_text("hi alice")
            expect(bob.locator("#log li.message.mine").last.locator(".text")).to_have_text("hi alice")

            # A line over the limit is not cut and not sent: the page says why.
            long_line = "x" * 10_000
            alice.fill("#text", long_line)
            alice.press("#text", "Enter")
            expect(alice.locator("#log li.error").last).to_have_text(
                re.compile(r"Not sent: this line has 10,000 characters; the limit is 2,000\."))
            assert alice.input_value("#text") == long_line  # kept for editing
            expect(bob.locator("#log li.message").last.locator(".text")).to_have_text("hi alice")

            # The name field: join under another name.
            bob.fill("#name", "robert")
            bob.click("#rename")
            expect(bob.locator("#status")).to_have_text("connected as robert", timeout=10_000)
            expect(alice.locator("#log")).to_contain_text("robert joined")
            assert "name=robert" in bob.url
            bob.fill("#text", "new name")
            bob.press("#text", "Enter")
            expect(alice.locator("#log li.message").last.locator(".name")).to_have_text("robert")

            bob.close()
            expect(alice.locator("#log")).to_contain_text("robert left")
            shot = os.environ.get("WSFAST_CHAT_SCREENSHOT") or str(tmp_path / "chat.png")
            alice.screenshot(path=shot)
        finally:
            browser.close()
