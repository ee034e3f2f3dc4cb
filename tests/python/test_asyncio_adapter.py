"""The asyncio adapter (wsfast.asyncio): wsfast's server and client with
each other and with the websockets library, on asyncio and on uvloop,
over loopback. Every test runs under an overall timeout."""

import asyncio
import os
import socket
import ssl

import pytest

websockets = pytest.importorskip("websockets")

import wsfast.asyncio as wsa  # noqa: E402
from netutil import SIZES, payloads, tls_contexts  # noqa: E402
from wsfast.asyncio.websocket import READ_SIZE  # noqa: E402
from wsfast.closed import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK  # noqa: E402
from wsfast.errors import InvalidResponse  # noqa: E402
from wsfast.events import CLOSED, OPEN  # noqa: E402

MAX = 4 << 20
TIMEOUT = 30


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """Runs ``async def test()`` to completion on the chosen loop, under
    TIMEOUT seconds."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")

    def runner(fn, timeout=TIMEOUT):
        async def main():
            return await asyncio.wait_for(fn(), timeout)

        if request.param == "uvloop":
            return uvloop.run(main())
        return asyncio.run(main())

    return runner


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def serve(handler=echo, **kw):
    kw.setdefault("max_message_size", MAX)
    return wsa.serve(handler, "127.0.0.1", 0, **kw)


def url_of(server, path="/"):
    return "ws://127.0.0.1:%d%s" % (server.sockets[0].getsockname()[1], path)


async def eventually(predicate, timeout=5):
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


# -- echo ----------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_echo_wsfast_both_sides(run, compression):
    async def test():
        async with serve(compression=compression) as server:
            async with wsa.connect(url_of(server), compression=compression, max_message_size=MAX) as ws:
                assert ws.ready_state == OPEN
                assert (ws.extensions is not None) == compression
                assert len(server.clients) == 1
                for size in SIZES:
                    for message in payloads(size):
                        await ws.send(message)
                        got = await ws.recv()
                        assert type(got) is type(message) and got == message, size
            assert ws.ready_state == CLOSED and ws.close_code == 1000
            await eventually(lambda: not server.clients)

    run(test)


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_wsfast_client_websockets_server(run, compression):
    async def test():
        async with websockets.serve(echo, "127.0.0.1", 0, max_size=MAX,
                                    compression="deflate" if compression else None) as server:
            async with wsa.connect(url_of(server), compression=compression, max_message_size=MAX) as ws:
                assert (ws.extensions is not None) == compression
                for size in SIZES:
                    for message in payloads(size):
                        await ws.send(message)
                        assert await ws.recv() == message
            assert ws.close_code == 1000

    run(test)


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_websockets_client_wsfast_server(run, compression):
    async def test():
        async with serve(compression=compression) as server:
            async with websockets.connect(url_of(server), max_size=MAX,
                                          compression="deflate" if compression else None) as c:
                negotiated = c.response.headers.get("Sec-WebSocket-Extensions")
                assert (negotiated is not None) == compression
                for size in SIZES:
                    for message in payloads(size):
                        await c.send(message)
                        assert await c.recv() == message
            await eventually(lambda: not server.clients)

    run(test)


def test_concurrent_clients(run):
    async def test():
        async with serve() as server:
            async def one(i):
                async with wsa.connect(url_of(server)) as ws:
                    for j in range(50):
                        await ws.send("%d-%d" % (i, j))
                    return [await ws.recv() for _ in range(50)]

            results = await asyncio.gather(*(one(i) for i in range(20)))
            for i, got in enumerate(results):
                assert got == ["%d-%d" % (i, j) for j in range(50)]

    run(test)


# -- handshake details -----------------------------------------------------------------


def test_subprotocols_request_and_user_data(run):
    seen = {}

    async def handler(ws):
        ws.data["user"] = "ann"
        if ws.request.path == "/room":
            seen.update(path=ws.request.path, query=ws.request.query_string,
                        token=ws.request.headers.get("X-Token"), subprotocol=ws.subprotocol,
                        remote=ws.remote_address, data=ws.data)
        await ws.send("hi")

    async def test():
        async with serve(handler, subprotocols=["v2", "v1"]) as server:
            async with wsa.connect(url_of(server, "/room?x=1"), subprotocols=["v1", "v2"],
                                   extra_headers=[("X-Token", "t")]) as ws:
                assert ws.subprotocol == "v2"
                assert ws.response.status == 101
                assert ws.remote_address[0] == "127.0.0.1"
                assert await ws.recv() == "hi"
            async with websockets.connect(url_of(server), subprotocols=["v1"]) as c:
                assert c.subprotocol == "v1"

    run(test)
    assert seen["path"] == "/room" and seen["query"] == b"x=1" and seen["token"] == "t"
    assert seen["remote"][0] == "127.0.0.1" and seen["data"] == {"user": "ann"}


def test_origin_rejection_is_a_clear_403(run):
    async def test():
        async with serve(origins=["https://good.example"]) as server:
            with pytest.raises(InvalidResponse) as info:
                await wsa.connect(url_of(server), origin="https://evil.example")
            assert info.value.status == 403 and "403" in str(info.value)
            with pytest.raises(websockets.exceptions.InvalidStatus) as ws_info:
                await websockets.connect(url_of(server), origin="https://evil.example")
            assert ws_info.value.response.status_code == 403
            async with wsa.connect(url_of(server), origin="https://good.example") as ws:
                await ws.send("ok")
                assert await ws.recv() == "ok"

    run(test)


def test_max_connections_refuses_with_503(run):
    async def test():
        async with serve(max_connections=2) as server:
            a = await wsa.connect(url_of(server))
            b = await wsa.connect(url_of(server))
            with pytest.raises(InvalidResponse) as info:
                await wsa.connect(url_of(server))
            assert info.value.status == 503
            assert ("Retry-After", "1") in info.value.headers
            await a.close()
            await eventually(lambda: len(server.clients) == 1)
            c = await wsa.connect(url_of(server))
            await c.send("third")
            assert await c.recv() == "third"
            await b.close()
            await c.close()

    run(test)


def test_plain_http_requests(run):
    async def http(request):
        if request.path == "/health":
            return 200, [("Content-Type", "text/plain")], b"ok\n"
        return None

    async def get(port, path):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        data = await reader.read()  # the server closes after answering
        writer.close()
        return data

    async def test():
        async with serve(http_handler=http) as server:
            port = server.sockets[0].getsockname()[1]
            assert (await get(port, "/health")).startswith(b"HTTP/1.1 200 ")
            assert (await get(port, "/health")).endswith(b"\r\n\r\nok\n")
            assert (await get(port, "/nothing")).startswith(b"HTTP/1.1 404 ")
        async with serve() as server:
            answer = await get(server.sockets[0].getsockname()[1], "/")
            assert answer.startswith(b"HTTP/1.1 426 ") and b"Upgrade: websocket" in answer

    run(test)


def test_handshake_timeout_drops_silent_connections(run):
    async def test():
        async with serve(handshake_timeout=0.2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
            writer.write(b"GET / HTTP/1.1\r\n")  # and never the rest
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()

    run(test)


def test_open_timeout(run):
    async def test():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        try:
            with pytest.raises(asyncio.TimeoutError):
                await wsa.connect("ws://127.0.0.1:%d/" % listener.getsockname()[1], open_timeout=0.2)
        finally:
            listener.close()

    run(test)


# -- closing -----------------------------------------------------------------------------


def test_close_codes_both_directions(run):
    seen = []

    async def handler(ws):
        if ws.request.path == "/server-closes":
            await ws.send("bye soon")
            await ws.close(4001, "server reason")
            return
        try:
            await ws.recv()
        except ConnectionClosedError as exc:
            seen.append((exc.code, exc.reason))

    async def test():
        async with serve(handler) as server:
            ws = await wsa.connect(url_of(server, "/client-closes"))
            await ws.close(4000, "client reason")
            assert (ws.close_code, ws.ready_state) == (4000, CLOSED)
            await eventually(lambda: seen)
            assert seen == [(4000, "client reason")]

            ws = await wsa.connect(url_of(server, "/server-closes"))
            assert await ws.recv() == "bye soon"
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert (info.value.code, info.value.reason) == (4001, "server reason")
            assert ws.close_code == 4001 and ws.close_reason == "server reason"
            await asyncio.wait_for(ws.wait_closed(), 5)
            with pytest.raises(ConnectionClosed):
                await ws.send("late")

            # with the websockets library as the client
            async with websockets.connect(url_of(server, "/server-closes")) as c:
                assert await c.recv() == "bye soon"
                with pytest.raises(websockets.exceptions.ConnectionClosedError):
                    await c.recv()
                assert (c.close_code, c.close_reason) == (4001, "server reason")

    run(test)


def test_handler_return_and_error(run):
    async def handler(ws):
        if ws.request.path == "/fail":
            raise ValueError("handler bug")
        await ws.send("done")

    async def test():
        async with serve(handler) as server:
            ws = await wsa.connect(url_of(server, "/ok"))
            assert [m async for m in ws] == ["done"]  # stops at 1000
            assert ws.close_code == 1000
            ws = await wsa.connect(url_of(server, "/fail"))
            with pytest.raises(ConnectionClosedError) as info:
                async for _ in ws:
                    pass
            assert info.value.code == 1011

    run(test)


def test_server_close_goes_away_with_1001(run):
    async def test():
        server = await serve()
        clients = [await wsa.connect(url_of(server)) for _ in range(3)]
        server.close()
        await asyncio.wait_for(server.wait_closed(), 10)
        for ws in clients:
            with pytest.raises(ConnectionClosedOK) as info:
                await ws.recv()
            assert info.value.code == 1001
        assert not server.clients

    run(test)


def test_websockets_server_closes(run):
    async def handler(ws):
        await ws.send("x")
        await ws.close(1001, "going")

    async def test():
        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            ws = await wsa.connect(url_of(server))
            assert [m async for m in ws] == ["x"]
            assert (ws.close_code, ws.close_reason) == (1001, "going")
            await asyncio.wait_for(ws.wait_closed(), 5)

    run(test)


# -- ping / keepalive ------------------------------------------------------------------------


def test_ping_pong(run):
    async def test():
        async with serve() as server:
            async with wsa.connect(url_of(server)) as ws:
                first = await ws.ping(b"one")
                second = await ws.ping()
                rtt = await asyncio.wait_for(second, 5)
                assert rtt >= 0 and first.done()  # a pong answers earlier pings too
                with pytest.raises(ValueError):
                    await ws.ping(b"dup"), await ws.ping(b"dup")
            async with websockets.connect(url_of(server)) as c:
                latency = await asyncio.wait_for(await c.ping(), 5)
                assert latency >= 0

    run(test)


def test_keepalive_fails_a_peer_that_stops_answering(run):
    seen = []

    async def handler(ws):
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            seen.append(exc)

    async def test():
        async with serve(handler, ping_interval=0.1, ping_timeout=0.2, close_timeout=1) as server:
            c = await websockets.connect(url_of(server), ping_interval=None)
            c.transport.pause_reading()  # the client no longer sees pings
            await eventually(lambda: seen, timeout=5)
            c.transport.resume_reading()
            with pytest.raises(websockets.exceptions.ConnectionClosedError):
                await c.recv()
            assert c.close_code == 1011  # what the server sent
            assert seen[0].sent[0] == 1011 and "keepalive" in seen[0].sent[1]
            # A responsive peer stays connected across several intervals.
            async with wsa.connect(url_of(server), ping_interval=None) as ws:
                await asyncio.sleep(0.6)
                await ws.send("alive")
                assert ws.ready_state == OPEN

    run(test)


def test_client_keepalive_fails_a_silent_server(run):
    async def handler(ws):
        ws.transport.pause_reading()
        await asyncio.sleep(10)

    async def test():
        async with serve(handler, ping_interval=None, close_timeout=0.5) as server:
            ws = await wsa.connect(url_of(server), ping_interval=0.1, ping_timeout=0.2)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            assert info.value.sent[0] == 1011

    run(test)


# -- flow control -----------------------------------------------------------------------------


def test_send_waits_for_a_slow_reader(run):
    chunk = os.urandom(256 * 1024)
    count = 64  # 16 MiB: more than the socket buffers hold
    progress = {"sent": 0, "max_buffered": 0}

    async def handler(ws):
        for _ in range(count):
            await ws.send(chunk)
            progress["sent"] += 1
            progress["max_buffered"] = max(progress["max_buffered"], ws.buffered_amount)

    async def test():
        async with serve(handler, compression=False) as server:
            ws = await wsa.connect(url_of(server), compression=False, max_queue=2)
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            await asyncio.sleep(1.0)
            # The client reads at most max_queue messages (plus one read's
            # worth), so the server's sends must block.
            assert progress["sent"] < count
            assert len(ws._messages) <= 2 + READ_SIZE // len(chunk) + 1
            # The transport buffer stays near its high-water mark: at most
            # one message over it, whatever the number of sends.
            assert progress["max_buffered"] <= 64 * 1024 + len(chunk) + 64 * 1024
            for _ in range(count):
                assert await ws.recv() == chunk
            await eventually(lambda: progress["sent"] == count)
            await ws.close()

    run(test)


def test_max_queue_pauses_reading(run):
    count = 60
    message = b"m" * 64 * 1024

    async def handler(ws):
        for i in range(count):
            await ws.send(message + i.to_bytes(2, "big"))

    async def test():
        async with serve(handler, compression=False) as server:
            async with wsa.connect(url_of(server), compression=False, max_queue=8) as ws:
                await eventually(lambda: ws._reading_paused, timeout=20)
                assert 8 <= len(ws._messages) <= 8 + READ_SIZE // len(message) + 1
                got = [await ws.recv() for _ in range(count)]
                assert [int.from_bytes(m[-2:], "big") for m in got] == list(range(count))

    run(test)


# -- broadcast ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_broadcast_reaches_every_client(run, compression):
    async def handler(ws):
        await ws.wait_closed()

    async def test():
        async with serve(handler, compression=compression) as server:
            clients = [await wsa.connect(url_of(server), compression=compression) for _ in range(3)]
            clients.append(await websockets.connect(url_of(server), compression="deflate" if compression else None))
            await eventually(lambda: len(server.clients) == 4)
            text = "hello everyone " * 20
            assert server.broadcast(text) == 4
            assert server.broadcast(b"\x01\x02") == 4
            for c in clients:
                assert await c.recv() == text
                assert await c.recv() == b"\x01\x02"
            some = list(server.clients)[:2]
            assert server.broadcast("some", clients=some) == 2
            for c in clients:
                await c.close()

    run(test)


def test_broadcast_skips_slow_clients(run):
    async def handler(ws):
        await ws.wait_closed()

    async def test():
        async with serve(handler, compression=False) as server:
            slow = await wsa.connect(url_of(server), compression=False, max_queue=1)
            slow.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            fast = await wsa.connect(url_of(server), compression=False)
            await eventually(lambda: len(server.clients) == 2)
            received = []

            async def reader():
                while len(received) < 40:
                    received.append(await fast.recv())

            task = asyncio.ensure_future(reader())
            counts = []
            for i in range(40):
                counts.append(server.broadcast(os.urandom(512 * 1024)))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(task, 10)
            assert counts[0] == 2
            assert 1 in counts  # the slow client was skipped
            await slow.close()
            await fast.close()

    run(test)


# -- TLS --------------------------------------------------------------------------------------------


def test_wss_self_signed(run, tmp_path):
    server_ctx, client_ctx = tls_contexts(str(tmp_path))

    async def test():
        async with serve(ssl=server_ctx) as server:
            port = server.sockets[0].getsockname()[1]
            wss = "wss://127.0.0.1:%d/" % port
            async with wsa.connect(wss, ssl=client_ctx) as ws:
                for message in ("secure", os.urandom(300_000)):
                    await ws.send(message)
                    assert await ws.recv() == message
            assert ws.close_code == 1000
            async with websockets.connect(wss, ssl=client_ctx) as c:
                await c.send("from websockets")
                assert await c.recv() == "from websockets"
            with pytest.raises(ssl.SSLError):
                await wsa.connect(wss, open_timeout=5)  # default trust store
        async with websockets.serve(echo, "127.0.0.1", 0, ssl=server_ctx) as server:
            port = server.sockets[0].getsockname()[1]
            async with wsa.connect("wss://localhost:%d/" % port, ssl=client_ctx) as ws:
                await ws.send(b"tls binary")
                assert await ws.recv() == b"tls binary"

    run(test)


# -- misuse -------------------------------------------------------------------------------------------


def test_two_concurrent_recv_calls_are_refused(run):
    async def test():
        async with serve() as server:
            async with wsa.connect(url_of(server)) as ws:
                first = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0.05)
                with pytest.raises(RuntimeError):
                    await ws.recv()
                await ws.send("answer")
                assert await first == "answer"

    run(test)
