"""An asyncio client that stays connected: after a dropped connection it
reconnects with exponential backoff and jitter; a normal close (1000,
1001) from the server ends it.

    python examples/reconnecting_client.py ws://127.0.0.1:8765/
"""

import argparse
import asyncio
import logging

import wsfast.asyncio as wsa
from wsfast.backoff import Backoff

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("url")
parser.add_argument("--initial-delay", type=float, default=0.5)
parser.add_argument("--max-delay", type=float, default=30.0)
parser.add_argument("--max-attempts", type=int, default=None)
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


async def main():
    backoff = Backoff(initial_delay=args.initial_delay, max_delay=args.max_delay,
                      max_attempts=args.max_attempts)
    async for ws in wsa.connect(args.url, backoff=backoff):
        print("connected", flush=True)
        try:
            await ws.send("hello")
            async for message in ws:  # ends quietly on a normal close
                print("received", message, flush=True)
        except wsa.ConnectionClosedError as exc:
            print("dropped:", exc, flush=True)
            continue  # the next iteration reconnects after a delay
    print("closed normally", flush=True)


asyncio.run(main())
