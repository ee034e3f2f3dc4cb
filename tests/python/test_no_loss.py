"""No message lost, nothing unbounded: each driver (epoll server, asyncio
adapter, uvicorn backend, both clients) against a peer that sends its last
message together with its close frame, floods pings without reading, or
sends compressed messages faster than the application takes them."""

import asyncio
import os
import socket
import ssl
import threading
import time
import zlib

import pytest

websockets = pytest.importorskip("websockets")

import wsfast.asyncio as wsa  # noqa: E402
from frames import close_payload, frame  # noqa: E402
from netutil import tls_contexts  # noqa: E402
from serverloop import UPGRADE, Recorder, read_all, read_until, running  # noqa: E402
from wsfast.client import connect as sync_connect  # noqa: E402
from wsfast.closed import ConnectionClosed, ConnectionClosedOK  # noqa: E402

TEXT, BINARY, CLOSE, PING = 0x1, 0x2, 0x8, 0x9
LAST_WORDS = frame(TEXT, b"last words") + frame(CLOSE, close_payload(1000, b"bye"))
DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate\r\n"


def server_frames(data):
    """(opcode, payload) of each unmasked frame a server sent."""
    frames, pos = [], 0
    while pos < len(data):
        opcode, n = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n, pos = int.from_bytes(data[pos:pos + 2], "big"), pos + 2
        elif n == 127:
            n, pos = int.from_bytes(data[pos:pos + 8], "big"), pos + 8
        frames.append((opcode, bytes(data[pos:pos + n])))
        pos += n
    return frames


def upgrade(sock, extra=""):
    sock.sendall(UPGRADE.format(path="/", extra=extra).encode())
    head = read_until(sock, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return head.split(b"\r\n\r\n", 1)[1]


def send_split(sock, data, cut):
    """``data`` in two writes split at ``cut``, far enough apart in time
    that the server reads them separately."""
    if 0 < cut < len(data):
        sock.sendall(data[:cut])
        time.sleep(0.005)
        sock.sendall(data[cut:])
    else:
        sock.sendall(data)


# -- 1. the message that arrives with the close frame ------------------------------


def test_epoll_server_echoes_the_message_sent_with_the_close_frame(impl):
    rec = Recorder()
    with running(backend=impl, compression=False, **rec.handlers()) as server:
        for cut in range(len(LAST_WORDS) + 1):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            with sock:
                extra = upgrade(sock)
                send_split(sock, LAST_WORDS, cut)
                frames = server_frames(extra + read_all(sock))
            # The echo went out, and before the close echo.
            assert frames == [(TEXT, b"last words"), (CLOSE, close_payload(1000))], cut
            assert rec.next("message") == ("message", "last words")
            assert rec.next("close") == ("close", 1000, "bye")


def test_epoll_server_over_tls_echoes_the_message_sent_with_the_close_frame(tmp_path):
    server_ctx, client_ctx = tls_contexts(tmp_path)
    rec = Recorder()
    with running(ssl=server_ctx, compression=False, **rec.handlers()) as server:
        for cut in (0, 1, 8, len(LAST_WORDS) - 1):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as sock:
                extra = upgrade(sock)
                send_split(sock, LAST_WORDS, cut)
                frames = server_frames(extra + read_all(sock))
            assert frames == [(TEXT, b"last words"), (CLOSE, close_payload(1000))], cut
            assert rec.next("message") == ("message", "last words")


def test_epoll_server_delivers_every_message_before_the_eof():
    # Messages, then the TCP close with no close frame: all delivered,
    # then close 1006.
    rec = Recorder(echo=False)
    with running(compression=False, max_step_frames=2, **rec.handlers()) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        upgrade(sock)
        sock.sendall(b"".join(frame(TEXT, b"m%d" % i) for i in range(7)))
        sock.close()
        assert [rec.next("message")[1] for _ in range(7)] == ["m%d" % i for i in range(7)]
        assert rec.next("close")[1] == 1006


def test_asyncio_server_echoes_the_message_sent_with_the_close_frame():
    received = []

    async def handler(ws):
        async for message in ws:
            received.append(message)
            await ws.send(message)

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False) as server:
            port = server.sockets[0].getsockname()[1]
            for cut in range(0, len(LAST_WORDS) + 1, 3):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(UPGRADE.format(path="/", extra="").encode())
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101")
                if 0 < cut < len(LAST_WORDS):
                    writer.write(LAST_WORDS[:cut])
                    await asyncio.sleep(0.005)
                    writer.write(LAST_WORDS[cut:])
                else:
                    writer.write(LAST_WORDS)
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                assert server_frames(data) == [(TEXT, b"last words"), (CLOSE, close_payload(1000))], cut
        return len(range(0, len(LAST_WORDS) + 1, 3))

    count = asyncio.run(asyncio.wait_for(main(), 30))
    assert received == ["last words"] * count


def _raw_server(script):
    """A one-connection raw TCP server running ``script(sock)`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def run():
        conn, _ = listener.accept()
        with conn:
            head = read_until(conn, b"\r\n\r\n")
            key = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:")][0]
            from wsfast.handshake import accept_key

            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key.decode()).encode()
                         + b"\r\n\r\n")
            script(conn)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return listener, done


def _unmasked(opcode, payload=b""):
    return frame(opcode, payload, mask=None)


def test_clients_return_the_message_that_came_with_the_close_frame():
    def script(conn):
        conn.sendall(_unmasked(TEXT, b"last words") + _unmasked(CLOSE, close_payload(1001, b"bye")))
        conn.settimeout(5)
        assert conn.recv(64)[0] == 0x88  # the client's close frame; then TCP closes

    listener, done = _raw_server(script)
    with listener:
        url = "ws://127.0.0.1:%d/" % listener.getsockname()[1]
        ws = sync_connect(url, compression=False)
        assert ws.recv(timeout=5) == "last words"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (1001, "bye")
        ws.close()
        assert done.wait(5)

    listener, done = _raw_server(script)

    async def main():
        url = "ws://127.0.0.1:%d/" % listener.getsockname()[1]
        ws = await wsa.connect(url, compression=False)
        await asyncio.sleep(0.2)  # both frames arrived before anyone asked
        assert await ws.recv() == "last words"
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        await ws.close()

    with listener:
        asyncio.run(asyncio.wait_for(main(), 10))
        assert done.wait(5)


# -- 2. one read no longer inflates everything it holds ------------------------------


def compressed_message(size):
    """A masked, compressed client text frame inflating to ``size`` bytes."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(b"a" * size) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert body.endswith(b"\x00\x00\xff\xff")
    return frame(TEXT, body[:-4], rsv=4)


def test_epoll_server_handles_a_bomb_read_in_steps_and_serves_others():
    # 64 messages of ~4 KiB compressed, each inflating to ~4 MiB, in one
    # write. The attacker gets every echo, one step per loop pass, and a
    # good client's echo is answered meanwhile.
    size = (4 << 20) - 64
    bomb = compressed_message(size) * 64
    rec = Recorder(echo=True)
    with running(compression=True, **rec.handlers()) as server:
        attacker = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        upgrade(attacker, DEFLATE_OFFER)
        with sync_connect("ws://127.0.0.1:%d/" % server.port, compression=False) as good:
            attacker.sendall(bomb)
            worst = 0.0
            for i in range(20):
                start = time.monotonic()
                good.send("ping %d" % i)
                assert good.recv(timeout=10) == "ping %d" % i
                worst = max(worst, time.monotonic() - start)
        attacker.close()
    # One step inflates one such message (max_step_bytes is 256 KiB): a
    # pass costs one inflate plus one deflate of the echo, never 64.
    assert worst < 2.0, worst


# -- 3. automatic pongs go through the water marks ------------------------------------


def _flood_pings(sock, seconds, limit):
    """Send pings without reading until the server stops taking them (or
    ``seconds``/``limit`` bytes pass). Returns the bytes sent."""
    ping = frame(PING, b"x" * 125)
    burst = ping * 512
    sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    stalled_since = None
    while sent < limit and time.monotonic() < deadline:
        try:
            sent += sock.send(burst)
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 1.0:  # not just a busy machine's pause
                break  # the server stopped reading: that is the point
            time.sleep(0.01)
    return sent


def test_asyncio_server_stops_reading_a_ping_flood_that_is_not_read():
    high = 64 * 1024
    seen = {}

    async def handler(ws):
        seen["ws"] = ws
        await ws.wait_closed()

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False, ping_interval=None,
                             write_high_water=high, write_low_water=high // 4) as server:
            port = server.sockets[0].getsockname()[1]
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            sent = await loop.run_in_executor(None, _flood_pings, sock, 20.0, 64 << 20)
            await asyncio.sleep(0.3)
            ws = seen["ws"]
            buffered = ws.buffered_amount
            sock.close()
            return sent, buffered

    sent, buffered = asyncio.run(asyncio.wait_for(main(), 60))
    # Each pong is 127 bytes: what the flood could have queued is the
    # bytes sent; what is queued stays near the mark plus one step.
    assert sent > 4 << 20, sent
    assert buffered <= high + 512 * 127 + 65536, (sent, buffered)


def test_asyncio_client_stops_reading_a_ping_flood_and_drops_past_max_buffered():
    ping = _unmasked(PING, b"y" * 125) * 512
    stop = threading.Event()

    def script(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.settimeout(0.5)
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn.sendall(ping)
            except (socket.timeout, OSError):
                if stop.is_set():
                    break

    listener, done = _raw_server(script)

    async def main():
        url = "ws://127.0.0.1:%d/" % listener.getsockname()[1]
        ws = await wsa.connect(url, compression=False, ping_interval=None,
                               write_high_water=32 * 1024, write_low_water=8 * 1024)
        worst = 0
        for _ in range(150):
            await asyncio.sleep(0.01)
            worst = max(worst, ws.buffered_amount)
        stop.set()
        ws.transport.abort()
        return worst

    with listener:
        worst = asyncio.run(asyncio.wait_for(main(), 20))
        assert done.wait(10)
    assert worst <= 32 * 1024 + 512 * 131 + 65536, worst


def test_asyncio_output_past_max_buffered_drops_the_connection():
    # Eight tasks sending at once each write before they wait at the
    # high-water mark, so a peer that never reads lets the output grow
    # past max_buffered: the connection is dropped (1006) with that reason.
    errors = []

    async def sender(ws):
        try:
            while True:
                await ws.send(os.urandom(256 * 1024))
        except ConnectionClosed as exc:
            errors.append(exc)

    async def handler(ws):
        await asyncio.gather(*(sender(ws) for _ in range(8)))

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, compression=False, max_buffered=1 << 20,
                             write_high_water=512 * 1024, write_low_water=1024) as server:
            port = server.sockets[0].getsockname()[1]
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            deadline = time.monotonic() + 20  # closing sooner would end them for another reason
            while len(errors) < 8 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            sock.close()

    asyncio.run(asyncio.wait_for(main(), 40))
    assert len(errors) == 8
    assert errors[0].code == 1006 and "max_buffered" in errors[0].reason, errors[0]


# -- 4. the queue of received messages is bounded in bytes ------------------------------


def test_asyncio_queue_is_bounded_in_bytes_when_the_handler_never_reads():
    size = (1 << 20) - 64
    seen = {}

    async def handler(ws):
        seen["ws"] = ws
        await asyncio.sleep(3)
        # Everything queued is still delivered, in order.
        count = 0
        while True:  # long for the 40 sent, short for any extra
            try:
                message = await asyncio.wait_for(ws.recv(), 10 if count < 40 else 0.5)
            except (asyncio.TimeoutError, ConnectionClosed):
                break
            assert len(message) == size
            count += 1
        seen["count"] = count

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, max_message_size=2 << 20,
                             max_queue_bytes=1 << 20, max_queue=1000) as server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(UPGRADE.format(path="/", extra=DEFLATE_OFFER).encode())
            head = await reader.readuntil(b"\r\n\r\n")
            assert b"permessage-deflate" in head
            writer.write(compressed_message(size) * 40)  # ~40 MiB inflated
            worst = 0
            for _ in range(100):
                await asyncio.sleep(0.02)
                ws = seen.get("ws")
                if ws is not None:
                    worst = max(worst, ws._messages.size)
            while "count" not in seen:  # the handler took what it could
                await asyncio.sleep(0.02)
            writer.close()
            return worst

    worst = asyncio.run(asyncio.wait_for(main(), 60))
    # The mark (1 MiB) is reached with the first message: one message more
    # at most can be in the queue.
    assert worst <= 2 * ((1 << 20) + 100), worst
    assert seen["count"] == 40


def test_message_queue_pauses_on_bytes_or_count_and_resumes_at_a_quarter():
    from wsfast.backpressure import MessageQueue

    q = MessageQueue(max_messages=8, max_bytes=1000)
    assert not q.put("a", 400) and not q.put("b", 400)
    assert q.put("c", 400) and q.paused and q.size == 1200
    assert q.get() == "a" and q.paused  # 800 > 250
    assert q.get() == "b" and q.paused  # 400 > 250
    assert q.get() == "c" and not q.paused and q.size == 0
    for i in range(8):
        q.put(i, 1)
    assert q.paused
    for i in range(6):
        assert q.get() == i
    assert not q.paused and len(q) == 2
    with pytest.raises(ValueError):
        MessageQueue(max_messages=0)
