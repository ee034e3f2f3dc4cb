"""Coverage-guided differential fuzzing of the sans-I/O connection (atheris).

Each input drives two connections past a completed handshake:

- the build under test: the compiled twins (wsfast.protocol.connection_c,
  wsfast.protocol.server_connection_c, ...) over the C core
  (wsfast.codec._core), both
  instrumented for libFuzzer so that edges in the C and the Cython code
  guide the search;
- the oracle: the same modules loaded from their .py sources (package
  ``_wsfast_oracle``, see OracleFinder) over the pure-Python backend.

Both receive the same bytes in the same chunks, and the app calls the same
methods on them between chunks. After every step they must agree on the
events, on the bytes queued to send (the frames, unmasked, on the client
side where mask keys are random), on the close state (close codes and
reasons, failure, ready_state, should_close) and on exceptions raised by
app calls. Any disagreement, and any exception out of receive_data (peer
bytes must never raise), is a crash for libFuzzer.

Input: byte 0 chooses the side, options, limits and compression; byte 1
the chunking; then either raw bytes (fed as they are) or frame
descriptors that the harness encodes (masking, optional deflate with the
negotiated parameters, repetition), with app calls between them. See
``decode``. Run with tests/fuzz/run_fuzz_connection.sh.

Usage: python fuzz_connection.py LIBDIR [libFuzzer options] [corpus dirs]
       python fuzz_connection.py LIBDIR --write-seeds DIR
LIBDIR holds the instrumented package (tests/fuzz/build_instrumented.sh);
the script refuses to run if wsfast is imported from anywhere else.
"""

import importlib.util
import os
import struct
import sys
import zlib

if len(sys.argv) < 2 or not os.path.isdir(os.path.join(sys.argv[1], "wsfast")):
    sys.exit(__doc__)
LIBDIR = os.path.abspath(sys.argv.pop(1))
sys.path.insert(0, LIBDIR)
PKGDIR = os.path.join(LIBDIR, "wsfast")

import atheris  # noqa: E402  (before wsfast: it provides the coverage hooks)

ORACLE = "_wsfast_oracle"


class OracleFinder:
    """Imports ``_wsfast_oracle.*`` from the .py sources of the instrumented
    package only; a module with no .py (the C core) does not exist there, so
    the oracle's codec.backend falls back to the pure-Python backend."""

    def find_spec(self, name, path=None, target=None):
        if name != ORACLE and not name.startswith(ORACLE + "."):
            return None
        base = os.path.join(PKGDIR, *name.split(".")[1:])
        if os.path.isfile(os.path.join(base, "__init__.py")):
            return importlib.util.spec_from_file_location(
                name, os.path.join(base, "__init__.py"), submodule_search_locations=[base])
        if os.path.isfile(base + ".py"):
            return importlib.util.spec_from_file_location(name, base + ".py")
        raise ModuleNotFoundError("no pure-Python %s in the oracle" % name, name=name)


sys.meta_path.insert(0, OracleFinder())

with atheris.instrument_imports(include=["wsfast"]):
    import wsfast
    from wsfast.codec import _core
    from wsfast.protocol import client_connection_c as client_protocol
    from wsfast.protocol import connection_c as protocol
    from wsfast.protocol import server_connection_c as server_protocol
    from wsfast.protocol.extensions import DeflateParams

# The oracle is not instrumented: its edges would only duplicate the
# compiled ones' and slow every run.
oracle_client = importlib.import_module(ORACLE + ".protocol.client_connection")
oracle_server = importlib.import_module(ORACLE + ".protocol.server_connection")
oracle_protocol = importlib.import_module(ORACLE + ".protocol.connection")
oracle_backend = importlib.import_module(ORACLE + ".codec.backend")
PY_IMPL = importlib.import_module(ORACLE + ".codec._python")


def _check_builds():
    """Fail loudly unless the code under test is the instrumented build and
    the oracle is pure Python."""
    for mod in (wsfast, _core, protocol, server_protocol):
        if not os.path.abspath(mod.__file__).startswith(PKGDIR + os.sep):
            sys.exit("fuzz_connection: %s comes from %s, not from the instrumented "
                     "build in %s" % (mod.__name__, mod.__file__, LIBDIR))
    for mod in (_core, protocol, server_protocol):
        if mod.__file__.endswith(".py"):
            sys.exit("fuzz_connection: %s is not compiled (%s)" % (mod.__name__, mod.__file__))
    if wsfast.backend != "c":
        sys.exit("fuzz_connection: wsfast.backend is %r, not 'c'" % wsfast.backend)
    for mod in (oracle_client, oracle_server, oracle_protocol):
        if not mod.__file__.endswith(".py"):
            sys.exit("fuzz_connection: oracle module %s is compiled" % mod.__name__)
    if oracle_backend.backend != "python":
        sys.exit("fuzz_connection: the oracle's backend is %r" % oracle_backend.backend)


_check_builds()

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
OPENED = 1  # events.OPEN

# Compression set-ups: (the client's offer, the server's options).
DEFLATE_CONFIGS = [
    (None, False),
    (DeflateParams(client_max_window_bits=True), {}),
    (DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True,
                   client_max_window_bits=True),
     {"server_no_context_takeover": True, "client_no_context_takeover": True}),
    (DeflateParams(server_max_window_bits=8, client_max_window_bits=True),
     {"client_max_window_bits": 9}),
]
MESSAGE_LIMITS = [16, 100, 125, 126, 200, 1000, 4096, 1 << 16]
FRAME_LIMITS = [0, 0, 125, 126, 300, 4096, 0, 0]
APP_ACTIONS = 10
MAX_REPEATED = 128 * 1024


class Diff(AssertionError):
    pass


# -- the input -----------------------------------------------------------


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def more(self):
        return self.pos < len(self.data)


def decode_config(b0):
    return {
        "client": bool(b0 & 0x01),  # the connection under test is a client
        "streaming": bool(b0 & 0x02),
        "auto_pong": not (b0 & 0x04),
        "deflate": (b0 >> 3) & 0x03,
        "raw": bool(b0 & 0x20),
        "limits": b0 >> 6,
    }


def make_options(cfg, b1):
    return {
        "streaming": cfg["streaming"],
        "auto_pong": cfg["auto_pong"],
        # Never unlimited: with no limit at all the C core allocates a
        # frame's declared length as soon as it reads the header (see
        # docs/architecture.md, "Fuzzing the connection"), which the
        # oracle does not.
        "max_message_size": MESSAGE_LIMITS[(b1 >> 2) & 0x07] if cfg["limits"] else
        [1 << 20, 1 << 16][b1 & 1],
        "max_frame_size": FRAME_LIMITS[(b1 >> 5) & 0x07] if cfg["limits"] & 2 else 0,
        "compress_min_size": 16,
        # Tiny steps (one frame, 64 bytes) or the defaults: both backends
        # must cut a read into the same steps.
        "max_step_frames": 1 if b1 & 0x02 else 128,
        "max_step_bytes": 64 if b1 & 0x02 else 256 * 1024,
    }


def chunk_sizes(b1, total):
    """Deterministic chunk sizes from the chunking byte."""
    mode = b1 & 0x03
    if mode == 0:
        return [total]
    top = (3, 17, 300)[mode - 1]
    x = b1 * 2654435761 + 12345
    sizes = []
    while total > 0:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        n = min(total, 1 + (x >> 8) % top)
        sizes.append(n)
        total -= n
    return sizes


class PeerCompressor:
    """What the fuzzed peer uses to compress, following the agreed
    parameters (so that valid compressed messages are easy to reach)."""

    def __init__(self, wbits, no_context):
        self.wbits, self.no_context = max(9, wbits or 15), no_context
        self.obj = None

    def compress(self, payload, fin):
        if self.obj is None:
            self.obj = zlib.compressobj(6, zlib.DEFLATED, -self.wbits)
        data = self.obj.compress(payload) + self.obj.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            if data.endswith(b"\x00\x00\xff\xff"):
                data = data[:-4]
            if self.no_context:
                self.obj = None
        return data


def xor(data, key):
    """``data`` masked with the 4-byte ``key`` (one big-integer XOR)."""
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode(peer_masks, fin, rsv, opcode, payload, mask, long_form):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    n = len(payload)
    if n < 126 and not long_form:
        head = bytes((b0, mbit | n))
    elif n < 65536 and long_form != 2:
        head = bytes((b0, mbit | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, mbit | 127)) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = next(peer_masks)
    return head + key + xor(payload, key)


def mask_keys():
    i = 0
    while True:
        i += 1
        yield bytes(((i * 37 + k * 101) & 0xFF) for k in range(4)) if i % 5 else b"\0\0\0\0"


def decode(data, cfg, compressor):
    """The steps of one input: ("data", bytes) to feed, ("break",) to end a
    chunk, ("app", action, payload) to call on both connections."""
    r = Reader(data)
    steps = []
    if cfg["raw"]:
        return [("data", r.take(len(data)))]
    masks = mask_keys()
    peer_masks = not cfg["client"]  # a client's peer (a server) does not mask
    while r.more():
        h, f = r.byte(), r.byte()
        n = r.byte()
        if f & 0x20:
            n = n * 256 + r.byte()
        payload = bytes(r.take(n))
        if f & 0x04:  # repeated, up to 128 KiB: past every limit used here
            payload = (payload * (1 + r.byte()))[:MAX_REPEATED]
        opcode, fin, rsv = h & 0x0F, bool(h & 0x80), (h >> 4) & 0x07
        if f & 0x40:  # an app call instead of a frame
            steps.append(("app", h % APP_ACTIONS, payload, f))
            continue
        if f & 0x02 and compressor is not None:
            payload = compressor.compress(payload, fin)
        mask = peer_masks != bool(f & 0x01)
        long_form = (f >> 3) & 0x03 if f & 0x10 else 0
        steps.append(("data", encode(masks, fin, rsv, opcode, payload, mask, long_form)))
        if f & 0x80:
            steps.append(("break",))
    return steps


# -- the two connections ---------------------------------------------------


def request_bytes(offer):
    lines = ["GET /chat HTTP/1.1", "Host: example.com", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + KEY, "Sec-WebSocket-Version: 13"]
    if offer is not None:
        lines.append("Sec-WebSocket-Extensions: " + offer.header_value())
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_server(mod, impl, cfg, options):
    offer, server_opts = DEFLATE_CONFIGS[cfg["deflate"]]
    conn = mod.ServerConnection(backend=impl, compression=server_opts, **options)
    events = conn.receive_data(request_bytes(offer))
    return conn, events, conn.data_to_send()


def open_client(mod, impl, cfg, options):
    offer, server_opts = DEFLATE_CONFIGS[cfg["deflate"]]
    conn = mod.ClientConnection("example.com", backend=impl,
                                compression=offer if offer is not None else False, **options)
    conn.connect()
    # The 101 comes from an oracle server: the key is random, so each
    # client gets the answer to its own request.
    server = oracle_server.ServerConnection(backend=PY_IMPL, compression=server_opts)
    server.receive_data(conn.data_to_send())
    return conn, conn.receive_data(server.data_to_send()), b""


# A compressed text message that is both corrupt and not UTF-8 fails with
# 1007 on both backends, but which of the two the reason names depends on
# where each inflater slices its output (the C core checks each slice as it
# comes; Python's zlib raises before handing out the partial output). Both
# are right, so the two reasons compare equal.
SAME_1007 = "invalid UTF-8 or compressed data"
REASON_ALIASES = {"invalid UTF-8": SAME_1007, "invalid compressed data": SAME_1007}


def norm(value):
    if isinstance(value, str):
        return ("str", REASON_ALIASES.get(value, value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (type(value).__name__, bytes(value))
    if isinstance(value, (list, tuple)):
        return tuple(norm(v) for v in value)
    slots = getattr(type(value), "__slots__", None)
    if slots is not None and hasattr(value, "__eq__") and type(value).__module__.endswith("events"):
        return (type(value).__name__,) + tuple((k, norm(getattr(value, k))) for k in slots)
    return value


def read_frames(data):
    """(fin, rsv, opcode, masked, payload) of each frame we sent, unmasked."""
    frames, pos = [], 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        pos += 2
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack_from("!H", data, pos)
            pos += 2
        elif n == 127:
            (n,) = struct.unpack_from("!Q", data, pos)
            pos += 8
        key = None
        if b1 & 0x80:
            key = data[pos:pos + 4]
            pos += 4
        payload = bytes(data[pos:pos + n])
        if len(payload) != n:
            raise Diff("truncated frame in our own output: %r" % data)
        pos += n
        if key is not None:
            payload = xor(payload, key)
        if b0 & 0x0F == 8 and len(payload) > 2:
            reason = payload[2:].decode("utf-8", "replace")
            payload = payload[:2] + REASON_ALIASES.get(reason, reason).encode()
        frames.append((b0 >> 7, (b0 >> 4) & 7, b0 & 0x0F, key is not None, payload))
    return frames


def state(conn):
    return norm((conn.ready_state, conn.close_code, conn.close_reason, conn.should_close,
                 conn.failure, conn.close_sent, conn.output_pending()))


def receive(conn, chunk):
    events = conn.receive_data(chunk)
    while getattr(conn, "events_pending", lambda: False)():
        events += conn.next_events()
    return events


def app_call(conn, action, payload, f):
    """One app-side call; returns what it returned or the exception's type."""
    text = payload.decode("utf-8", "replace")
    try:
        if action == 0:
            return conn.send(text)
        if action == 1:
            return conn.send(payload)
        if action == 2:
            return conn.send_binary(payload, compress=bool(f & 1))
        if action == 3:
            return conn.send_text(text, compress=True if f & 2 else None)
        if action == 4:
            return conn.ping(payload[:125])
        if action == 5:
            return conn.pong(payload[:125])
        if action == 6:
            return conn.close(1000 + (f & 0x0F) if f & 0x10 else 1000, text[:20])
        if action == 7:
            return conn.send_fragment(payload, fin=bool(f & 1), text=bool(f & 2),
                                      first=bool(f & 4), compress=bool(f & 8) or None)
        if action == 8:
            return conn.fail(1002 + (f & 7), text)
        return norm(conn.receive_eof())
    except Exception as exc:  # the two must raise alike
        return ("raised", type(exc).__name__, str(exc))


class Side:
    def __init__(self, name, conn, client):
        self.name, self.conn, self.client = name, conn, client

    def output(self):
        data = self.conn.data_to_send()
        # Frames, unmasked: a client's mask keys are random.
        return tuple(read_frames(data)) if data else ()


def compare(what, a, b, log):
    log.append((what, a))
    if a != b:
        raise Diff("%s differs\n  compiled+C:  %r\n  oracle (py): %r\n  steps so far: %r"
                   % (what, a, b, log[-12:]))


def one_input(data):
    if len(data) < 2:
        return
    cfg = decode_config(data[0])
    options = make_options(cfg, data[1])
    if cfg["client"]:
        c_conn, c_ev, c_out = open_client(client_protocol, _core, cfg, options)
        p_conn, p_ev, p_out = open_client(oracle_client, PY_IMPL, cfg, options)
    else:
        c_conn, c_ev, c_out = open_server(server_protocol, _core, cfg, options)
        p_conn, p_ev, p_out = open_server(oracle_server, PY_IMPL, cfg, options)
    log = []
    compare("handshake events", norm(c_ev), norm(p_ev), log)
    compare("handshake response", c_out, p_out, log)
    compare("state after handshake", state(c_conn), state(p_conn), log)
    if c_conn.ready_state != OPENED:
        raise Diff("the handshake did not open the connection: %r" % (c_ev,))
    compressor = None
    if c_conn.deflate is not None:
        d = c_conn.deflate
        # The peer compresses what the connection under test inflates.
        compressor = PeerCompressor(d.inflate_window_bits(not cfg["client"]),
                                    d.inflate_no_context_takeover(not cfg["client"]))
    sides = (Side("c", c_conn, cfg["client"]), Side("py", p_conn, cfg["client"]))
    steps = decode(data[2:], cfg, compressor)
    # The wire bytes, cut into chunks by the chunking byte and at "break"s.
    pending = []

    def flush():
        stream = b"".join(pending)
        pending.clear()
        pos = 0
        for n in chunk_sizes(data[1], len(stream)):
            chunk = stream[pos:pos + n]
            pos += n
            results = []
            for side in sides:
                try:
                    events = norm(receive(side.conn, chunk))
                except Exception as exc:
                    raise Diff("receive_data raised on the %s side: %r (chunk %r, steps %r)"
                               % (side.name, exc, chunk, log[-12:])) from exc
                results.append((events, side.output(), state(side.conn)))
            compare("events", results[0][0], results[1][0], log)
            compare("data_to_send", results[0][1], results[1][1], log)
            compare("state", results[0][2], results[1][2], log)

    for step in steps:
        if step[0] == "data":
            pending.append(step[1])
        elif step[0] == "break":
            flush()
        else:
            flush()
            _, action, payload, f = step
            got = [app_call(side.conn, action, payload, f) for side in sides]
            compare("app call %d" % action, norm(got[0]), norm(got[1]), log)
            compare("data_to_send after app call", sides[0].output(), sides[1].output(), log)
            compare("state after app call", state(c_conn), state(p_conn), log)
    flush()
    compare("receive_eof", norm(c_conn.receive_eof()), norm(p_conn.receive_eof()), log)
    compare("final state", state(c_conn), state(p_conn), log)


# -- seeds ------------------------------------------------------------------


def frame_desc(opcode, payload=b"", fin=True, rsv=0, compress=False, unmask=False,
               repeat=0, brk=False, long_form=0):
    h = (0x80 if fin else 0) | (rsv << 4) | opcode
    f = (0x01 if unmask else 0) | (0x02 if compress else 0) | (0x04 if repeat else 0)
    f |= (0x10 | long_form << 3) if long_form else 0
    f |= 0x80 if brk else 0
    n = len(payload)
    if n > 255:
        f |= 0x20
        out = bytes((h, f, n >> 8, n & 0xFF)) + payload
    else:
        out = bytes((h, f, n)) + payload
    return out + (bytes((repeat - 1,)) if repeat else b"")


def app_desc(action, payload=b"", f=0):
    return bytes((action, 0x40 | f, len(payload))) + payload


def config_byte(client=False, streaming=False, auto_pong=True, deflate=1, raw=False, limits=0):
    return ((1 if client else 0) | (2 if streaming else 0) | (0 if auto_pong else 4)
            | deflate << 3 | (0x20 if raw else 0) | limits << 6)


def seeds():
    close = struct.pack("!H", 1000) + b"bye"
    text = "h\u00e9llo \u2603 ".encode() * 4
    yield "text_ping_close", bytes((config_byte(), 0)) + frame_desc(1, text) + \
        frame_desc(9, b"p") + frame_desc(8, close)
    yield "compressed_fragments", bytes((config_byte(limits=1), 0x02 | 5 << 2)) + \
        frame_desc(1, text, fin=False, rsv=4, compress=True) + \
        frame_desc(0, text, compress=True, brk=True) + \
        frame_desc(2, b"abc" * 20, rsv=4, compress=True) + frame_desc(8, close)
    yield "compression_bomb", bytes((config_byte(limits=1), 0x01 | 2 << 2)) + \
        frame_desc(2, b"a" * 64, rsv=4, compress=True, repeat=200)
    yield "streaming_no_context", bytes((config_byte(streaming=True, deflate=2, limits=3),
                                         0x03 | 6 << 2 | 4 << 5)) + \
        frame_desc(2, b"xy" * 50, fin=False, rsv=4, compress=True) + \
        frame_desc(0, b"z" * 300, compress=True, brk=True) + \
        frame_desc(1, b"plain", long_form=1) + frame_desc(8)
    yield "window_bits_8", bytes((config_byte(deflate=3), 0x02)) + \
        frame_desc(1, text * 8, rsv=4, compress=True) + \
        frame_desc(1, text * 8, rsv=4, compress=True) + app_desc(3, text * 3, f=2)
    yield "app_calls", bytes((config_byte(), 0x01)) + app_desc(0, b"hi") + \
        app_desc(2, b"q" * 40, f=1) + frame_desc(10, b"pong") + \
        app_desc(7, b"part", f=4 | 8) + app_desc(7, b"end", f=1) + app_desc(6, b"done") + \
        frame_desc(8, close)
    yield "bad_utf8_unmasked", bytes((config_byte(deflate=0), 0x01)) + \
        frame_desc(1, b"ok") + frame_desc(1, b"\xc3\x28") + frame_desc(1, b"x", unmask=True)
    yield "client_side", bytes((config_byte(client=True, limits=1), 0x02 | 3 << 2)) + \
        frame_desc(1, text, rsv=4, compress=True) + frame_desc(9, b"ping") + \
        app_desc(1, b"\x00\x01" * 30) + frame_desc(2, b"m", unmask=True)
    yield "client_streaming", bytes((config_byte(client=True, streaming=True, deflate=2), 0x01)) + \
        frame_desc(1, text, fin=False, rsv=4, compress=True) + \
        frame_desc(0, text, compress=True) + frame_desc(8, close)
    yield "raw_masked", bytes((config_byte(raw=True, deflate=0), 0x01)) + \
        b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" + b"\x88\x80\x00\x00\x00\x00"


def write_seeds(directory):
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds():
        one_input(data)  # every seed must pass
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(data)
    print("wrote %d seeds to %s" % (len(list(seeds())), directory))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(sys.argv[2])
    else:
        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()
