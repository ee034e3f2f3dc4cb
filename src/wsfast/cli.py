"""wsfast's command line."""

import argparse
import logging
import platform
import sys

log = logging.getLogger("wsfast")


def _info(args):
    import wsfast

    print("wsfast %s" % wsfast.__version__)
    print("backend: %s" % wsfast.backend)
    print("mask kernel: %s (available: %s)" % (wsfast.mask_kernel(), ", ".join(wsfast.mask_kernels())))
    print("python: %s %s on %s %s" % (platform.python_implementation(), platform.python_version(),
                                        platform.system(), platform.machine()))
    if args.selftest:
        return _selftest(wsfast)
    return 0


def _selftest(wsfast):
    """Round-trips a few frames through the active backend."""
    enc = wsfast.FrameEncoder(client=True)
    parser = wsfast.FrameParser(server=True)
    messages = [(wsfast.OP_TEXT, "héllo".encode()), (wsfast.OP_BINARY, bytes(range(256)) * 300)]
    got = parser.feed(enc.encode_many(messages))
    ok = [(op, p) for op, p, _, _ in got] == messages
    print("selftest: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def _server_options(args):
    options = dict(
        compression=not args.no_compression,
        max_message_size=args.max_message_size,
        max_frame_size=args.max_message_size,
        ping_interval=args.ping_interval or None,
    )
    if args.max_connections:
        options["max_connections"] = args.max_connections
    if args.compression_idle:
        options["compression_idle"] = args.compression_idle
    if args.certfile:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.certfile, args.keyfile)
        options["ssl"] = ctx
    return options


def _listening(kind, args, path=""):
    import wsfast

    scheme = "wss" if args.certfile else "ws"
    def report(server):
        for addr in server.addresses:
            host = "[%s]" % addr[0] if ":" in addr[0] else addr[0]
            log.info("%s listening on %s://%s:%d%s (compression %s, backend %s/%s)", kind, scheme,
                     host, addr[1], path, "off" if args.no_compression else "on",
                     wsfast.backend, wsfast.mask_kernel())
    return report


def _echo(args):
    from .apps.echo import serve_echo
    from .server.workers import default_workers

    workers = args.workers or default_workers()
    return serve_echo(args.host, args.port, workers=workers, on_ready=_listening("echo", args),
                      **_server_options(args))


def _chat(args):
    from .apps.chat import serve_chat

    scheme = "https" if args.certfile else "http"
    host = args.host if args.host not in ("", "0.0.0.0", "::") else "127.0.0.1"

    def ready(server):
        log.info("chat: open %s://%s:%d/ in a browser (Ctrl-C to stop)%s", scheme,
                 "[%s]" % host if ":" in host else host, server.port,
                 "; room shared through Redis at %s" % args.redis if args.redis else "")

    return serve_chat(args.host, args.port, workers=args.workers, redis=args.redis,
                      on_ready=ready, **_server_options(args))


def _find_benchmarks():
    """The benchmarks/ directory of a source checkout or an editable install:
    next to src/, or named by WSFAST_BENCHMARKS. Wheels do not ship it."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("WSFAST_BENCHMARKS", ""),
                  os.path.join(here, os.pardir, os.pardir, "benchmarks")]
    for path in candidates:
        if path and os.path.isfile(os.path.join(path, "suite.py")):
            return os.path.abspath(path)
    return None


def _bench(args):
    import os
    import subprocess

    where = _find_benchmarks()
    if where is None:
        print("wsfast bench: the benchmark suite (the benchmarks/ directory of wsfast's source tree) "
              "is not available here; it is not included in wheels.\n"
              "Run it from a source checkout: clone wsfast's repository, then in it\n"
              "    pip install -e '.[bench]'\n"
              "    wsfast bench --quick\n"
              "or point WSFAST_BENCHMARKS at a checkout's benchmarks/ directory.", file=sys.stderr)
        return 2
    # The suite is a script of the source tree: run as one, nothing of it
    # is imported into the package (BENCH_PROG names the command it reports).
    env = dict(os.environ, WSFAST_BENCH_PROG="wsfast bench")
    return subprocess.call([sys.executable, os.path.join(where, "suite.py"), *args.bench_args],
                           env=env)


def _add_server_args(p, port):
    # Only the protocol here: building the parser must not import the
    # server (``wsfast info`` runs where only the codec does, e.g. PyPy 3.9).
    from .protocol import COMPRESSION_IDLE_MODES

    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s; "
                   "'' or 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=port, help="port (default: %(default)s)")
    p.add_argument("--no-compression", action="store_true", help="do not negotiate permessage-deflate")
    p.add_argument("--compression-idle", choices=COMPRESSION_IDLE_MODES, default=None,
                   help="what context takeover keeps between messages (default: the server's, "
                        "wsfast.server.limits.COMPRESSION_IDLE)")
    p.add_argument("--max-message-size", type=int, default=None, metavar="BYTES",
                   help="largest message and frame accepted (default: 4 MiB; chat: 16 KiB)")
    p.add_argument("--max-connections", type=int, default=None, metavar="N",
                   help="connections per worker; more get HTTP 503 (default: what the open-file limit allows)")
    p.add_argument("--ping-interval", type=float, default=20.0, metavar="SECONDS",
                   help="keepalive ping after this much silence; 0 disables (default: %(default)s)")
    p.add_argument("--certfile", help="PEM certificate chain: serve wss:// (TLS)")
    p.add_argument("--keyfile", help="PEM private key for --certfile")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="default: %(default)s (debug logs every connection)")


def main(argv=None):
    from . import __version__

    parser = argparse.ArgumentParser(prog="wsfast", description="wsfast WebSocket toolkit")
    parser.add_argument("--version", action="version", version="wsfast %s" % __version__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="show the active backend and mask kernel",
                       description="Show the active backend and SIMD mask kernel.")
    p.add_argument("--selftest", action="store_true", help="also round-trip frames through the backend")
    p.set_defaults(func=_info)
    p = sub.add_parser("echo", help="run an echo server (conformance, benchmarks)",
                       description="Echo every message back: text as text, binary as binary.")
    _add_server_args(p, 9001)
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes sharing the port via SO_REUSEPORT (default: one per core)")
    p.set_defaults(func=_echo)
    p = sub.add_parser("chat", help="run the browser chat demo",
                       description="Serve a chat page at / ; every message goes to everyone in the "
                                   "room, on every worker, and on every server sharing --redis; "
                                   "joins and leaves are shown.")
    _add_server_args(p, 8080)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes sharing the port via SO_REUSEPORT (default: %(default)s)")
    p.add_argument("--redis", default=None, metavar="URL",
                   help="share the room with every chat server on this Redis "
                        "(redis://host:port; needs the hiredis package)")
    p.set_defaults(func=_chat)
    # Every argument goes to benchmarks/suite.py as it is ("wsfast bench --help" shows its options):
    # "+" as the option prefix keeps argparse from reading "--quick" and the like here.
    p = sub.add_parser("bench", help="run the benchmark suite: wsfast beside picows, websockets, "
                       "aiohttp, wsproto (source checkout only)", add_help=False, prefix_chars="+",
                       description="Run benchmarks/suite.py; see wsfast bench --help.")
    p.add_argument("bench_args", nargs="*", help="options for the suite (see wsfast bench --help)")
    p.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    if hasattr(args, "log_level"):
        logging.basicConfig(level=args.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if args.max_message_size is None:
            args.max_message_size = 16 * 1024 if args.command == "chat" else 4 * 1024 * 1024
    try:
        return args.func(args)
    except OSError as exc:
        print("wsfast %s: %s" % (args.command, exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
