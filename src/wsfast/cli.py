"""wsfast's command line."""

import argparse
import platform
import sys


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="wsfast", description="wsfast WebSocket toolkit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="show the active backend and mask kernel")
    p.add_argument("--selftest", action="store_true", help="also round-trip frames through the backend")
    p.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
