"""socketify's WebSocket echo server (uWebSockets for Python, through cffi),
for side-by-side runs in ``wsfast bench`` (stack ``socketify``):

    python3 benchmarks/socketify_echo.py --port 9001 [--deflate]

127.0.0.1 only; every message echoed as it came (text as text, binary as
binary). Compression off, or with ``--deflate`` uWebSockets' shared
compressor (permessage-deflate, as a browser negotiates it).
"""

import argparse
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--deflate", action="store_true", help="negotiate permessage-deflate")
    args = p.parse_args(argv)

    from socketify import App, CompressOptions, OpCode

    def message(ws, msg, opcode):
        ws.send(msg, OpCode.BINARY if opcode == OpCode.BINARY else OpCode.TEXT)

    app = App()
    app.ws("/*", {
        "compression": CompressOptions.SHARED_COMPRESSOR if args.deflate else CompressOptions.DISABLED,
        "max_payload_length": 16 * 1024 * 1024,
        "idle_timeout": 0,
        "message": message,
    })
    app.any("/*", lambda res, req: res.write_status(426).end("WebSocket endpoint: upgrade required\n"))
    app.listen({"port": args.port, "host": "127.0.0.1"}, lambda config: None)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
