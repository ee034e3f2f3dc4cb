"""Connection(compression_idle=...): what the protocol connection holds
between messages under each idle mode. Run on both builds of the twins
(conftest.TWIN_TESTS); the codec's own deflate tests are test_deflate.py."""

import pytest

from connpair import open_pair, pump
from test_deflate import _corpus
from wsfast.protocol import DEFAULT_COMPRESSION_IDLE
from wsfast.server_protocol import ServerConnection


@pytest.mark.parametrize("idle", ["window", "keep"])
def test_connection_compression_idle(impl, idle):
    s, c = open_pair(impl, server={"compression_idle": idle}, client={"compression_idle": idle})
    assert s.deflate is not None
    assert s._deflater.memory == 0 and s._inflater.memory == 0
    msgs = [m.decode() for m in _corpus(1000, seed=11)]
    for k, msg in enumerate(msgs):
        c.send(msg)
        (ev,) = pump(c, s)
        assert ev == msg
        s.send(msg)
        (ev,) = pump(s, c)
        assert ev == msg
        if k == 0:
            held = s._deflater.memory + s._inflater.memory
            if idle == "window":
                assert 0 < held <= 2 * 4096  # 12 bits: at most 4 KiB each way
            else:
                assert held > 32 * 1024
    assert (s._deflater.memory <= 4096) == (idle == "window")


@pytest.mark.parametrize("pings", [20.0, None])
def test_connection_adaptive_parks_on_idle_keepalive_tick(impl, pings):
    # Busy: a compressed message since the last tick keeps the streams;
    # a tick with none parks them to the 4 KiB window each way; traffic
    # after that decodes on the other side. With or without pings.
    s, c = open_pair(impl, server={"compression_idle": "adaptive"})
    # Over compress_min_size, so every message is compressed both ways.
    msgs = [m.decode() for m in _corpus(200, seed=3) if len(m) >= 256][:40]
    now = 100.0
    for k, msg in enumerate(msgs):
        c.send(msg)
        assert pump(c, s) == [msg]
        s.send(msg)
        assert pump(s, c) == [msg]
        now += 1.0
        s.keepalive(now, pings, None)  # busy since the last tick: kept
        assert s._deflater.memory > 8192 and s._inflater.memory > 4096
        if k % 10 == 9:
            now += 1.0
            s.keepalive(now, pings, None)  # a whole tick idle: parked
            assert 0 < s._deflater.memory <= 4096 and 0 < s._inflater.memory <= 4096
    assert s.ready_state == c.ready_state


def test_connection_compression_idle_default_and_bad(impl):
    assert DEFAULT_COMPRESSION_IDLE == "window"
    with pytest.raises(ValueError):
        ServerConnection(backend=impl, compression_idle="sometimes")
