"""A Starlette app served by uvicorn with wsfast's WebSocket backend.

The server runs in-process on 127.0.0.1 (an ephemeral port) and the
``websockets`` asyncio client drives it. uvicorn's own WebSocket suite is
run against the backend by tests/uvicorn/run_uvicorn_suite.py.
"""

import asyncio
import contextlib
import json
import socket
import time

import pytest

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
websockets = pytest.importorskip("websockets")

from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import WebSocketRoute  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from wsfast.uvicorn import WSFastProtocol  # noqa: E402

TIMEOUT = 20  # seconds for a whole scenario

events = []  # what the app saw, for the tests to check


async def echo(ws):
    await ws.accept()
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                events.append(("disconnect", message["code"], message.get("reason")))
                return
            if message.get("text") is not None:
                await ws.send_text(message["text"])
            else:
                await ws.send_bytes(message["bytes"])
    except WebSocketDisconnect:  # pragma: no cover - receive() does not raise it
        pass


idle_seen = {}


async def idle(ws):
    """Accepts, then takes nothing for a while: the queue must stay bounded."""
    await ws.accept()
    await asyncio.sleep(1.5)
    count = 0
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            break
        count += 1
    idle_seen["count"] = count


async def chat(ws):
    offered = ws.scope["subprotocols"]
    events.append(("offered", offered))
    chosen = next((p for p in ("chat.v2", "chat.v1") if p in offered), None)
    await ws.accept(subprotocol=chosen)
    await ws.send_text("using %s" % chosen)
    await ws.close()


async def forbidden(ws):
    await ws.close(code=1008)  # before accept: ASGI answers 403


async def denied(ws):
    await ws.send_denial_response(PlainTextResponse("no token", status_code=401))


async def goodbye(ws):
    await ws.accept()
    text = await ws.receive_text()
    await ws.close(code=4001, reason="bye " + text)


async def scope_view(ws):
    await ws.accept()
    s = ws.scope
    await ws.send_json(
        {
            "path": s["path"],
            "raw_path": s["raw_path"].decode(),
            "query": s["query_string"].decode(),
            "scheme": s["scheme"],
            "client": s["client"][0],
            "x-test": ws.headers.get("x-test"),
            "http_version": s["http_version"],
        }
    )
    await ws.close()


async def crash_before_accept(ws):
    raise RuntimeError("boom")


async def crash_after_accept(ws):
    await ws.accept()
    await ws.receive_text()
    raise RuntimeError("boom")


app = Starlette(
    routes=[
        WebSocketRoute("/echo", echo),
        WebSocketRoute("/idle", idle),
        WebSocketRoute("/chat", chat),
        WebSocketRoute("/forbidden", forbidden),
        WebSocketRoute("/denied", denied),
        WebSocketRoute("/goodbye", goodbye),
        WebSocketRoute("/scope/{rest:path}", scope_view),
        WebSocketRoute("/crash-before", crash_before_accept),
        WebSocketRoute("/crash-after", crash_after_accept),
    ]
)


@contextlib.asynccontextmanager
async def serve(**options):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options.setdefault("ws", "wsfast.uvicorn:WSFastProtocol")
    config = uvicorn.Config(app, lifespan="off", log_level="critical", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield "ws://127.0.0.1:%d" % port, server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def run(scenario):
    events.clear()
    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))


def test_echo_text_and_binary():
    async def scenario():
        async with serve() as (url, server):
            async with connect(url + "/echo", compression=None) as ws:
                backends = {type(p) for p in server.server_state.connections}
                assert backends == {WSFastProtocol}
                for i in range(50):
                    await ws.send("hello %d" % i)
                    assert await ws.recv() == "hello %d" % i
                await ws.send(b"\x00\xff" * 1000)
                assert await ws.recv() == b"\x00\xff" * 1000
                text = "\u00e9\u4e2d\U0001f600" * 5000  # non-ASCII, 60 KB
                await ws.send(text)
                assert await ws.recv() == text
                # A burst: everything is echoed, in order.
                for i in range(500):
                    await ws.send("m%d" % i)
                for i in range(500):
                    assert await ws.recv() == "m%d" % i
                await ws.close(1001, "leaving")
            for _ in range(100):
                if events:
                    break
                await asyncio.sleep(0.01)
            assert events == [("disconnect", 1001, "leaving")]

    run(scenario)


def test_subprotocol_choice():
    async def scenario():
        async with serve() as (url, _):
            async with connect(url + "/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
                assert ws.subprotocol == "chat.v2"
                assert await ws.recv() == "using chat.v2"
            async with connect(url + "/chat", subprotocols=["chat.v1"]) as ws:
                assert ws.subprotocol == "chat.v1"
                assert await ws.recv() == "using chat.v1"
            async with connect(url + "/chat") as ws:
                assert ws.subprotocol is None
                assert await ws.recv() == "using None"
                assert "Sec-WebSocket-Protocol" not in ws.response.headers
        assert events[0] == ("offered", ["chat.v1", "chat.v2"])
        assert events[2] == ("offered", [])

    run(scenario)


def test_denial_with_403():
    async def scenario():
        async with serve() as (url, _):
            with pytest.raises(InvalidStatus) as info:
                await connect(url + "/forbidden")
            assert info.value.response.status_code == 403
            assert info.value.response.headers["server"] == "uvicorn"

    run(scenario)


def test_denial_response_with_body():
    async def scenario():
        async with serve() as (url, _):
            with pytest.raises(InvalidStatus) as info:
                await connect(url + "/denied")
            response = info.value.response
            assert response.status_code == 401
            assert response.body == b"no token"
            assert response.headers["content-length"] == "8"
            assert response.headers["content-type"].startswith("text/plain")

    run(scenario)


def test_close_code_sent_by_app():
    async def scenario():
        async with serve() as (url, _):
            async with connect(url + "/goodbye") as ws:
                await ws.send("now")
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
            assert info.value.rcvd.code == 4001
            assert info.value.rcvd.reason == "bye now"
            assert ws.close_code == 4001

    run(scenario)


def test_compression_negotiated():
    async def scenario():
        async with serve() as (url, _):
            async with connect(url + "/echo", compression="deflate") as ws:
                header = ws.response.headers["Sec-WebSocket-Extensions"]
                assert header.startswith("permessage-deflate")
                assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
                big = "compress me " * 10000
                await ws.send(big)
                assert await ws.recv() == big
                await ws.send(b"small")
                assert await ws.recv() == b"small"
        async with serve(ws_per_message_deflate=False) as (url, _):
            async with connect(url + "/echo", compression="deflate") as ws:
                assert "Sec-WebSocket-Extensions" not in ws.response.headers
                assert ws.protocol.extensions == []
                await ws.send("plain")
                assert await ws.recv() == "plain"

    run(scenario)


def test_scope():
    async def scenario():
        async with serve() as (url, _):
            target = url + "/scope/a%2Fb?x=1&y=%C3%A9"
            async with connect(target, additional_headers=[("X-Test", "yes")]) as ws:
                seen = json.loads(await ws.recv())
        assert seen == {
            "path": "/scope/a/b",
            "raw_path": "/scope/a%2Fb",
            "query": "x=1&y=%C3%A9",
            "scheme": "ws",
            "client": "127.0.0.1",
            "x-test": "yes",
            "http_version": "1.1",
        }

    run(scenario)


def test_app_errors():
    async def scenario():
        async with serve() as (url, _):
            with pytest.raises(InvalidStatus) as info:
                await connect(url + "/crash-before")
            assert info.value.response.status_code == 500
            assert info.value.response.body == b"Internal Server Error"
            async with connect(url + "/crash-after") as ws:
                await ws.send("go")
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd.code == 1011

    run(scenario)


class CountingProtocol(WSFastProtocol):
    """Counts the times reading was paused because the app lagged."""

    pauses = 0

    def _update_reading(self):
        was_paused = self.read_paused
        super()._update_reading()
        if self.read_paused and not was_paused and self._messages.paused:
            CountingProtocol.pauses += 1


def test_max_size_and_max_queue():
    async def scenario():
        CountingProtocol.pauses = 0
        async with serve(ws=CountingProtocol, ws_max_size=1000, ws_max_queue=4) as (url, server):
            async with connect(url + "/echo", compression=None) as ws:
                await ws.send("x" * 1000)
                assert await ws.recv() == "x" * 1000
                # More messages than ws_max_queue in one go still all arrive.
                for i in range(100):
                    await ws.send(b"%d" % i)
                for i in range(100):
                    assert await ws.recv() == b"%d" % i
                # Client and server share one event loop here, so the burst
                # arrived in one read: more than 4 queued, reading paused.
                assert CountingProtocol.pauses >= 1
                await ws.send("x" * 1001)
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
            assert info.value.rcvd.code == 1009
        assert events and events[-1][:2] == ("disconnect", 1009)

    run(scenario)


def test_keepalive_pings():
    async def scenario():
        async with serve(ws_ping_interval=0.05, ws_ping_timeout=1.0) as (url, server):
            async with connect(url + "/echo", ping_interval=None) as ws:
                (protocol,) = server.server_state.connections
                for _ in range(200):
                    if protocol.ping_sent_at:
                        break
                    await asyncio.sleep(0.01)
                assert protocol.ping_sent_at > 0
                await asyncio.sleep(0.2)  # pongs answered: still open
                await ws.send("alive")
                assert await ws.recv() == "alive"

    run(scenario)


# -- the same app driven by wsfast's own clients ----------------------------------


def test_wsfast_asyncio_client_against_the_app():
    import wsfast.asyncio as wsa
    from wsfast.closed import ConnectionClosed as Closed
    from wsfast.errors import InvalidResponse

    async def scenario():
        async with serve() as (url, _):
            for compression in (True, False):
                async with wsa.connect(url + "/echo", compression=compression) as ws:
                    assert (ws.extensions is not None) == compression
                    for message in ("hé", b"\x00" * 70000, "x" * 300):
                        await ws.send(message)
                        assert await ws.recv() == message
            async with wsa.connect(url + "/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
                assert ws.subprotocol == "chat.v2"
                assert await ws.recv() == "using chat.v2"
            with pytest.raises(InvalidResponse) as info:
                await wsa.connect(url + "/forbidden")
            assert info.value.status == 403
            async with wsa.connect(url + "/goodbye") as ws:
                await ws.send("now")
                with pytest.raises(Closed) as closed:
                    await ws.recv()
                assert (closed.value.code, closed.value.reason) == (4001, "bye now")

    run(scenario)


def test_wsfast_blocking_client_against_the_app():
    from wsfast.client import connect as sync_connect

    async def scenario():
        async with serve() as (url, _):
            def drive():
                with sync_connect(url + "/echo", open_timeout=5) as ws:
                    assert ws.extensions and ws.extensions.startswith("permessage-deflate")
                    ws.send("sync " * 100)
                    return ws.recv(timeout=5)

            got = await asyncio.get_running_loop().run_in_executor(None, drive)
            assert got == "sync " * 100

    run(scenario)


def _client_frame(opcode, payload, rsv1=False):
    import os as _os
    mask = _os.urandom(4)
    head = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


async def _raw_upgrade(url, path, extra=b""):
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer, head


def test_the_message_sent_with_the_close_frame_is_echoed_before_the_close():
    # Message and close frame in one write: the app receives the message
    # while the connection is open, and its reply precedes the close echo.
    wire = _client_frame(1, b"last words") + _client_frame(8, (1000).to_bytes(2, "big") + b"bye")

    async def scenario():
        async with serve() as (url, _):
            for cut in (0, 3, 12, len(wire) - 1):
                reader, writer, _ = await _raw_upgrade(url, b"/echo")
                if cut:
                    writer.write(wire[:cut])
                    await asyncio.sleep(0.01)
                    writer.write(wire[cut:])
                else:
                    writer.write(wire)
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                assert data[:2] == b"\x81\x0a" and data[2:12] == b"last words", (cut, data)
                assert data[12] == 0x88, (cut, data)
            for _ in range(100):
                if len(events) >= 4:
                    break
                await asyncio.sleep(0.01)
            assert events == [("disconnect", 1000, "bye")] * 4

    run(scenario)


def test_queue_of_an_app_that_takes_nothing_is_bounded_in_bytes():
    import zlib

    size = (1 << 20) - 64
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(b"a" * size) + deflater.flush(zlib.Z_SYNC_FLUSH)
    bomb = _client_frame(1, body[:-4], rsv1=True)

    async def scenario():
        idle_seen.clear()
        async with serve(ws_max_size=2 << 20, ws_max_queue=1000) as (url, server):
            reader, writer, head = await _raw_upgrade(
                url, b"/idle", b"Sec-WebSocket-Extensions: permessage-deflate\r\n")
            assert b"permessage-deflate" in head
            writer.write(bomb * 30)  # 30 MiB once inflated
            worst = 0
            for _ in range(60):
                await asyncio.sleep(0.02)
                for protocol in server.server_state.connections:
                    worst = max(worst, protocol._messages.size)
            await asyncio.sleep(1.5)
            writer.close()
            deadline = time.monotonic() + 20  # the app inflates 30 MiB first
            while "count" not in idle_seen and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        # max_queue_bytes (1 MiB) is reached with the first message; every
        # message still reaches the app once it takes them.
        assert worst <= 2 * ((1 << 20) + 200), worst
        assert idle_seen["count"] == 30

    run(scenario)
