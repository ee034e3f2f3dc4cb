"""wsfast.wsproto (the drop-in) against wsproto, as ratios from one run.

    python3 benchmarks/bench_wsproto.py [--rounds 7] [--messages 20000]

Per message, on an open server-side connection (sans-I/O, no sockets):
- receive: ``receive_data(frame)`` with one masked client frame, then
  ``list(events())``;
- send: ``send(Message(data))``, the bytes of one unmasked frame;
- event: building one ``TextMessage`` (what the facade pays per event).
Text and binary, 16 B and 1 KiB, no compression. Rounds alternate between
the two libraries; the figure is the median over rounds of the time per
message (process CPU time), with the min-max over rounds.
"""

import argparse
import os
import statistics
import time


def _open_server(ws):
    """A server-side WSConnection of module ``ws`` after a handshake, and
    a client of the same module to produce masked frames."""
    from importlib import import_module

    conn = import_module(ws.__name__ + ".connection")
    events = import_module(ws.__name__ + ".events")
    client = ws.WSConnection(conn.ConnectionType.CLIENT)
    server = ws.WSConnection(conn.ConnectionType.SERVER)
    server.receive_data(client.send(events.Request(host="bench", target="/")))
    list(server.events())
    client.receive_data(server.send(events.AcceptConnection()))
    list(client.events())
    return client, server, events


def _bench_receive(ws, data, n):
    client, server, events = _open_server(ws)
    cls = events.TextMessage if isinstance(data, str) else events.BytesMessage
    frames = [client.send(cls(data)) for _ in range(64)]
    receive, evs = server.receive_data, server.events
    t0 = time.process_time()
    for i in range(n):
        receive(frames[i & 63])
        for _ in evs():
            pass
    return (time.process_time() - t0) / n


def _bench_send(ws, data, n):
    _, server, events = _open_server(ws)
    cls = events.TextMessage if isinstance(data, str) else events.BytesMessage
    send = server.send
    t0 = time.process_time()
    for _ in range(n):
        send(cls(data))
    return (time.process_time() - t0) / n


def _bench_event(ws, data, n):
    _, _, events = _open_server(ws)
    cls = events.TextMessage
    t0 = time.process_time()
    for _ in range(n):
        cls(data)
    return (time.process_time() - t0) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()

    import wsproto as upstream

    import wsfast
    import wsfast.wsproto as dropin

    print("wsfast backend: %s; wsproto %s" % (wsfast.backend, upstream.__version__))
    cases = []
    for size in (16, 1024):
        text = "a" * size
        binary = os.urandom(size)
        cases += [("receive text %d B" % size, _bench_receive, text),
                  ("receive binary %d B" % size, _bench_receive, binary),
                  ("send text %d B" % size, _bench_send, text),
                  ("send binary %d B" % size, _bench_send, binary)]
    cases.append(("build TextMessage", _bench_event, "a" * 16))
    print("%-22s %22s %22s %8s" % ("per message", "wsproto us", "drop-in us", "ratio"))
    for name, bench, data in cases:
        times = {dropin: [], upstream: []}
        for _ in range(args.rounds):
            for lib in (upstream, dropin):
                times[lib].append(bench(lib, data, args.messages))
        med = {lib: statistics.median(t) for lib, t in times.items()}
        fmt = lambda lib: "%.3f (%.3f-%.3f)" % (med[lib] * 1e6, min(times[lib]) * 1e6,
                                                max(times[lib]) * 1e6)
        print("%-22s %22s %22s %7.1fx" % (name, fmt(upstream), fmt(dropin),
                                          med[upstream] / med[dropin]))


if __name__ == "__main__":
    main()
