"""``wsfast echo``: sends every message back as it came (text as text,
binary as binary). Used by the conformance suite and the benchmarks."""

from ..server import Server, run_workers


def echo(ws, message):
    ws.send(message)


def make_echo_server(host="127.0.0.1", port=9001, *, compression=True, workers=1, **options):
    return Server(host, port, on_message=echo, compression=compression,
                  reuse_port=workers != 1, **options)


def serve_echo(host, port, *, workers=None, compression=True, on_ready=None, **options):
    def make(port=port):
        return make_echo_server(host, port, compression=compression, workers=workers, **options)

    return run_workers(make, workers, on_ready=on_ready)
