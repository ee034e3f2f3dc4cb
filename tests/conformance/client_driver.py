"""Autobahn|Testsuite client driver: runs the fuzzingserver's cases with
wsfast's blocking client.

    python client_driver.py ws://127.0.0.1:9011 wsfast

Asks /getCaseCount, echoes every message of /runCase?case=i&agent=AGENT
for each case (text as text, binary as binary) until the server closes,
then opens /updateReports?agent=AGENT so that the report is written.
"""

import argparse
import sys
import time
from urllib.parse import quote

from wsfast.client import connect
from wsfast.closed import ConnectionClosed
from wsfast.errors import WebSocketError

# Group 9 sends messages of up to 16 MiB.
LIMIT = 64 * 1024 * 1024
# A case never waits this long for its next message; bounds a stuck case.
CASE_TIMEOUT = 120


def open_ws(url, compression=True):
    return connect(url, compression=compression, max_message_size=LIMIT, max_frame_size=LIMIT, open_timeout=30)


def case_count(base):
    with open_ws(base + "/getCaseCount") as ws:
        return int(ws.recv(timeout=30))


def run_case(base, case, agent):
    url = "%s/runCase?case=%d&agent=%s" % (base, case, quote(agent))
    try:
        ws = open_ws(url)
    except (OSError, WebSocketError) as exc:
        print("case %d: connect failed: %s" % (case, exc), file=sys.stderr)
        return
    try:
        while True:
            ws.send(ws.recv(timeout=CASE_TIMEOUT))
    except ConnectionClosed:
        pass
    except TimeoutError:
        print("case %d: no message for %ds" % (case, CASE_TIMEOUT), file=sys.stderr)
    except OSError as exc:
        print("case %d: %s" % (case, exc), file=sys.stderr)
    finally:
        ws.close()


def update_reports(base, agent):
    with open_ws("%s/updateReports?agent=%s" % (base, quote(agent))) as ws:
        try:
            ws.recv(timeout=60)
        except ConnectionClosed:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the fuzzingserver's URL, e.g. ws://127.0.0.1:9011")
    parser.add_argument("agent", nargs="?", default="wsfast")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    count = case_count(base)
    print("%d cases" % count)
    start = time.monotonic()
    for case in range(1, count + 1):
        run_case(base, case, args.agent)
    print("ran %d cases in %.1fs" % (count, time.monotonic() - start))
    update_reports(base, args.agent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
