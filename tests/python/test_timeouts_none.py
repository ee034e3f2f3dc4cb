"""``None`` for a handshake, close or shutdown timeout means no limit of
its own: accepted by the constructors, it must not fail when the
connection or the close comes."""

import asyncio
import threading

import pytest

import wsfast.asyncio as wsa
from serverloop import Recorder, on_loop, running
from wsfast.client import connect
from wsfast.closed import ConnectionClosed
from wsfast.server import Server


def test_epoll_shutdown_timeout_none_waits_for_the_close_handshakes():
    server = Server("127.0.0.1", 0, shutdown_timeout=None, compression=False)
    server.listen()
    errors = []

    def serve():
        try:
            server.serve_forever()
        except BaseException as exc:  # the loop must end cleanly, not die
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ws = connect("ws://127.0.0.1:%d/" % server.port, compression=False)
    try:
        server.shutdown()
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)  # the server's 1001, answered by the client
        assert info.value.code == 1001
        thread.join(10)
        assert not thread.is_alive() and errors == []
    finally:
        ws.close()


def test_sync_client_close_timeout_none_closes():
    with running(compression=False) as server:
        ws = connect("ws://127.0.0.1:%d/" % server.port, compression=False, close_timeout=None)
        ws.send("hi")
        ws.close()
        assert ws.close_code == 1000


def test_asyncio_close_timeout_none_closes():
    async def main():
        async def handler(ws):
            async for message in ws:
                await ws.send(message)

        async with wsa.serve(handler, "127.0.0.1", 0, compression=False, close_timeout=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with wsa.connect("ws://127.0.0.1:%d/" % port, compression=False, close_timeout=None) as ws:
                await ws.send("ping")
                assert await ws.recv() == "ping"
            return ws.close_code

    assert asyncio.run(asyncio.wait_for(main(), 20)) == 1000


def test_epoll_handshake_and_close_timeouts_none_serve_and_close():
    """Before, the first accept (handshake_timeout=None) or the first
    server-side close (close_timeout=None) raised TypeError in the loop."""
    rec = Recorder()
    with running(compression=False, handshake_timeout=None, close_timeout=None,
                 **rec.handlers()) as server:
        for n in range(2):  # the loop keeps serving after the first close
            ws = connect("ws://127.0.0.1:%d/" % server.port, compression=False)
            try:
                _, sws = rec.next("open")
                ws.send("hi %d" % n)
                assert ws.recv(timeout=5) == "hi %d" % n
                on_loop(server, sws.close, 1000, "bye")  # the server starts the close
                with pytest.raises(ConnectionClosed) as info:
                    ws.recv(timeout=5)
                assert info.value.code == 1000
                assert rec.next("close")[1] == 1000
            finally:
                ws.close()
        assert [ev for ev in list(rec.events.queue) if ev[0] == "error"] == []
