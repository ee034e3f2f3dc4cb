"""hypercorn echo server CPU per message: on wsfast.wsproto vs on wsproto,
beside uvicorn with wsfast's own backend.

    python3 benchmarks/bench_wsproto_hypercorn.py [--rounds 5] [--messages 5000]

Three server processes, each serving ``tests/conformance/asgi_echo.py`` on
loopback: hypercorn on wsproto, hypercorn on the drop-in (both with
``--workers 0``: the server runs in the process started, so its CPU time
is read from /proc), and uvicorn with ``--ws wsfast.uvicorn:WSFastProtocol``
(one process). A websockets client sends 64 B text messages, ping-pong
(send, wait for the echo) and burst (100 sent, then 100 read), deflate off
and on. The figure is the server's CPU time (user + system) per message,
median over rounds with min-max; rounds alternate between the stacks, and
the ratios are wsproto's median over each other stack's. Linux only (/proc).

``--floor`` adds hypercorn on the drop-in with a codec that does nothing
(``hypercorn_null_codec.py``), ping-pong only: hypercorn's own cost per
message, so wsproto's figure over it is the best ratio any codec can give.
"""

import argparse
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
BURST = 100


def _cpu(pid):
    fields = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STACKS = {
    "wsproto": ["-m", "hypercorn", "asgi_echo:app", "--workers", "0", "--bind", "127.0.0.1:{port}"],
    "drop-in": ["-m", "wsfast.wsproto", "hypercorn", "asgi_echo:app", "--workers", "0",
                "--bind", "127.0.0.1:{port}"],
    "uvicorn+wsfast": ["-m", "uvicorn", "asgi_echo:app", "--ws", "wsfast.uvicorn:WSFastProtocol",
                       "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
                       "--no-access-log"],
}
FLOOR = [str(HERE / "hypercorn_null_codec.py"), "hypercorn", "asgi_echo:app", "--workers", "0",
         "--bind", "127.0.0.1:{port}"]


def _start(name):
    port = _free_port()
    args = [a.format(port=port) for a in (FLOOR if name == "null codec" else STACKS[name])]
    proc = subprocess.Popen([sys.executable] + args,
        cwd=os.path.join(os.path.dirname(HERE), "tests", "conformance"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError("%s did not start" % name)


def _run(port, pid, mode, compression, messages):
    from websockets.sync.client import connect

    payload = "x" * 64
    with connect("ws://127.0.0.1:%d/" % port, compression=compression) as ws:
        ws.send(payload)
        ws.recv(timeout=10)
        start = _cpu(pid)
        if mode == "ping-pong":
            for _ in range(messages):
                ws.send(payload)
                ws.recv(timeout=10)
        else:
            for _ in range(messages // BURST):
                for _ in range(BURST):
                    ws.send(payload)
                for _ in range(BURST):
                    ws.recv(timeout=10)
        # Let the server finish its last writes before reading its CPU time.
        time.sleep(0.05)
        return (_cpu(pid) - start) / messages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--floor", action="store_true",
                        help="also hypercorn with a codec that does nothing (ping-pong)")
    args = parser.parse_args()
    servers = {}
    try:
        for name in list(STACKS) + (["null codec"] if args.floor else []):
            servers[name] = _start(name)
        print("%-22s %22s %22s %22s %9s %9s" % (
            "server CPU per message", "wsproto us", "drop-in us", "uvicorn+wsfast us",
            "/drop-in", "/uvicorn"))
        for mode in ("ping-pong", "burst"):
            for compression in (None, "deflate"):
                # The null codec yields one message per read: ping-pong only.
                stacks = {n: s for n, s in servers.items()
                          if n != "null codec" or mode == "ping-pong"}
                times = {name: [] for name in stacks}
                for _ in range(args.rounds):
                    for name, (proc, port) in stacks.items():
                        times[name].append(_run(port, proc.pid, mode, compression, args.messages))
                med = {n: statistics.median(t) for n, t in times.items()}
                fmt = lambda n: "%.1f (%.1f-%.1f)" % (med[n] * 1e6, min(times[n]) * 1e6,
                                                     max(times[n]) * 1e6)
                print("%-22s %22s %22s %22s %8.2fx %8.2fx" % (
                    "%s, deflate %s" % (mode, "on" if compression else "off"),
                    fmt("wsproto"), fmt("drop-in"), fmt("uvicorn+wsfast"),
                    med["wsproto"] / med["drop-in"], med["wsproto"] / med["uvicorn+wsfast"]))
                if "null codec" in med:
                    print("%-22s %22s %22s: best possible /drop-in %.2fx" % (
                        "", "null codec", fmt("null codec"), med["wsproto"] / med["null codec"]))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
