"""How fast hiredis.Reader parses what the Redis bus reads: Pub/Sub
message pushes carrying a 64-byte message in its envelope, fed 64 at a
time and drained after each feed (as the bus does per read).

    python benchmarks/bench_redis_reader.py [--runs 5]
"""

import argparse
import statistics
import time

import hiredis

from wsfast.bus import envelope


def one_run(feeds=20000, per_feed=64):
    body = envelope.pack(b"origin00", 1, b"x" * 64)
    push = b"*3\r\n$7\r\nmessage\r\n$11\r\nwsfast:room\r\n$%d\r\n%s\r\n" % (len(body), body)
    chunk = push * per_feed
    reader, count = hiredis.Reader(), 0
    start = time.perf_counter()
    for _ in range(feeds):
        reader.feed(chunk)
        while reader.gets() is not False:
            count += 1
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    rates = [one_run() for _ in range(parser.parse_args().runs)]
    print("hiredis.Reader: median %.2fM replies/s (min %.2f, max %.2f, %d runs)"
          % (statistics.median(rates) / 1e6, min(rates) / 1e6, max(rates) / 1e6, len(rates)))


if __name__ == "__main__":
    main()
