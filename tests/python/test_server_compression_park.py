"""The server's compression park sweep (compression_idle="adaptive"): it
runs with pings off, parks a connection that went quiet back to the
window, and leaves a busy one its zlib streams."""

import time

import pytest

pytest.importorskip("websockets.sync.client")

from websockets.sync.client import connect  # noqa: E402

from serverloop import Recorder, on_loop, running  # noqa: E402
from wsfast.server import timers  # noqa: E402

INTERVAL = 0.1
MESSAGE = '{"op":"tick","data":"%s"}' % ("x" * 240)  # above compress_min_size


def _memory(ws):
    conn = ws.conn
    return conn._deflater.memory + conn._inflater.memory


def _options(impl):
    return dict(backend=impl, compression_idle="adaptive", ping_interval=None,
                compression_park_interval=INTERVAL)


def _connect(server):
    return connect("ws://127.0.0.1:%d/" % server.port, compression="deflate")


def _first(client, rec):
    _, sws = rec.next("open")
    client.send(MESSAGE)
    assert client.recv(timeout=5) == MESSAGE
    return sws


def test_an_idle_compressing_connection_is_parked_with_pings_off(impl):
    rec = Recorder()
    with running(**_options(impl), **rec.handlers()) as server:
        with _connect(server) as client:
            sws = _first(client, rec)
            assert on_loop(server, lambda: sws.conn.parks_compression)
            busy = on_loop(server, _memory, sws)
            assert busy > 16 * 1024  # zlib's streams, kept between messages
            time.sleep(INTERVAL * 4)  # quiet for more than two sweeps
            idle = on_loop(server, _memory, sws)
            # Only the window each way is left: at most 2 x 2^15 bytes.
            assert idle <= 2 * (1 << 15) and idle < busy
            assert on_loop(server, lambda: sws not in server._compression_live)
            # The next message primes a new stream: same bytes, same reply.
            client.send(MESSAGE)
            assert client.recv(timeout=5) == MESSAGE


@pytest.mark.parametrize("ping_interval", [None, 0.2])
def test_a_busy_connection_keeps_its_streams(impl, ping_interval):
    # With pings on, the keepalive tick must not clear the sweep's mark.
    # Busy means a message between sweeps: sweeps 0.3 s apart and a message
    # every 0.02 s leave room for a loaded machine's stalls.
    interval = 0.3
    rec = Recorder()
    options = dict(_options(impl), ping_interval=ping_interval, compression_park_interval=interval)
    with running(**options, **rec.handlers()) as server:
        with _connect(server) as client:
            sws = _first(client, rec)
            kept = []
            deadline = time.monotonic() + interval * 6
            while time.monotonic() < deadline:
                client.send(MESSAGE)
                assert client.recv(timeout=5) == MESSAGE
                kept.append(on_loop(server, lambda: (sws in server._compression_live, _memory(sws))))
                time.sleep(0.02)
            # Live from the first sweep on, and never parked in between.
            first = next(i for i, (live, _) in enumerate(kept) if live)
            assert all(live for live, _ in kept[first:])
            assert all(mem > 16 * 1024 for _, mem in kept)


def test_the_sweep_walks_only_compressing_connections(impl):
    rec = Recorder()
    with running(**_options(impl), **rec.handlers()) as server:
        with _connect(server) as client, connect("ws://127.0.0.1:%d/" % server.port, compression=None):
            sws = _first(client, rec)
            rec.next("open")
            assert on_loop(server, lambda: (len(server.clients), set(server._compressing))) == (2, {sws})
        rec.next("close")
        rec.next("close")
        assert on_loop(server, lambda: (server._compressing, server._compression_live)) == (set(), set())


def test_trim_heap_is_safe_to_call():
    # glibc: malloc_trim gives the free heap back; elsewhere a no-op (False).
    assert timers.trim_heap() == (timers._TRIM is not None)


def test_a_sweep_that_parks_trims_the_heap_once_and_an_idle_one_not(impl, monkeypatch):
    from wsfast.server import limits
    from wsfast.server import server as server_module

    trims = []
    monkeypatch.setattr(limits, "COMPRESSION_TRIM_MIN_PARKED", 1)
    monkeypatch.setattr(server_module, "trim_heap", lambda: trims.append(time.monotonic()) or True)
    rec = Recorder()
    with running(**_options(impl), **rec.handlers()) as server:
        with _connect(server) as a, _connect(server) as b, _connect(server) as c:
            for client in (a, b, c):
                _first(client, rec)
            time.sleep(INTERVAL * 4)  # quiet: all three parked (by one to three sweeps)
            assert on_loop(server, lambda: len(server._compression_live)) == 0
            done = len(trims)
            assert 1 <= done <= 3  # once per sweep that parked, not per connection
            time.sleep(INTERVAL * 4)  # sweeps that park nothing do not trim
            assert len(trims) == done


def test_the_server_defaults_to_adaptive_and_the_protocol_to_window(impl):
    from wsfast.protocol import DEFAULT_COMPRESSION_IDLE
    from wsfast.server import Server, limits

    assert DEFAULT_COMPRESSION_IDLE == "window"  # drivers that may never tick
    assert Server(port=0, backend=impl)._conn_options["compression_idle"] == limits.COMPRESSION_IDLE == "adaptive"
    assert Server(port=0, backend=impl, compression_idle="window")._conn_options["compression_idle"] == "window"
