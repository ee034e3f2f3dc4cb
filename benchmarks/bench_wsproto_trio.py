"""trio-websocket client against ``wsfast echo``: on wsfast.wsproto vs on wsproto.

    python3 benchmarks/bench_wsproto_trio.py [--rounds 5] [--messages 10000]

The server is ``wsfast echo --no-compression`` on loopback (trio-websocket
offers no compression). Each round runs the client
(``wsproto_trio_client.py``) once per stack, ping-pong and bursts of 100
messages of 64 B. Figures: messages per second (wall) and the client's CPU
time per message, medians over rounds with min-max.
"""

import argparse
import pathlib
import socket
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(dropin, url, mode, n):
    launcher = ["-m", "wsfast.wsproto", "wsproto_trio_client"] if dropin else ["wsproto_trio_client.py"]
    out = subprocess.run([sys.executable] + launcher + [url, mode, str(n)], cwd=HERE,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    wall, cpu = map(float, out.split())
    return n / wall, cpu / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10000)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "wsfast", "echo", "--no-compression",
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        url = "ws://127.0.0.1:%d/" % port
        print("%-10s %-8s %26s %22s" % ("mode", "stack", "messages/s", "client CPU us/msg"))
        for mode in ("ping-pong", "burst"):
            results = {False: [], True: []}
            for _ in range(args.rounds):
                for dropin in (False, True):
                    results[dropin].append(_client(dropin, url, mode, args.messages))
            for dropin in (False, True):
                rate = [r for r, _ in results[dropin]]
                cpu = [c * 1e6 for _, c in results[dropin]]
                print("%-10s %-8s %26s %22s" % (
                    mode, "drop-in" if dropin else "wsproto",
                    "%.0f (%.0f-%.0f)" % (statistics.median(rate), min(rate), max(rate)),
                    "%.1f (%.1f-%.1f)" % (statistics.median(cpu), min(cpu), max(cpu))))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
