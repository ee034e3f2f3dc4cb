"""``wsfast bench``: every benchmark scenario, against wsfast and its peers, in one run.

    wsfast bench [--quick] [--scenarios codec,pingpong] [--stacks wsfast,picows]
                 [--repeats 3] [--json out.json] [--png chart.png] [--md table.md]
                 [--server NAME=COMMAND ...]
    python3 benchmarks/suite.py ...          (the same, from a source checkout)

Scenarios (``--scenarios``, default all):

* ``codec``      frame parse and encode, XOR masking, UTF-8 validation, in this
                 process (``bench_codec.py``); peers: picows, aiohttp,
                 websockets, wsproto;
* ``deflate``    permessage-deflate compress and decompress of a 256 B and a
                 16 KiB JSON message (``bench_protocol.py``); peer: websockets;
* ``pingpong``   one connection, one 256 B message in flight, round trips/s,
                 with a raw-TCP floor (``rawtcp``);
* ``pingpong-deflate`` the same with permessage-deflate negotiated as a
                 browser offers it, JSON text (``--deflate-size``);
* ``burst``      10,000 x 1 KiB messages written in large chunks, every echo read;
* ``idle``       server RSS growth per idle connection;
* ``handshakes`` connect + upgrade + 101 + close, a few in flight;
* ``broadcast``  one server, N clients (``--bcast-clients``, over
                 ``--bcast-procs`` client processes); the server sends a 64 B
                 message to all of them on a trigger; time until every client
                 has it, p50/p99 latency (``bench_broadcast.py``).

The network scenarios run every server in its own process (``servers.py``,
``broadcast_servers.py``) and the clients in others (``bench_client.py``,
``broadcast_client.py``), all on 127.0.0.1; each sample starts a fresh server
and stops it (only processes this suite started, by PID).

Method: the whole list of scenarios is run ``--repeats`` times; within a
repeat, the stacks of a scenario run one after the other, in an order that
rotates from repeat to repeat (codec and deflate rows likewise, ``--codec-rounds``
times per repeat, after one untimed warm-up). Every figure is compared with
wsfast's figure from the same repeat (same round), and the report gives the
median of those per-repeat ratios with their min and max, next to each
stack's own median, min and max. Ratios are oriented so that above 1 means
better than wsfast (faster, or less memory or latency).

A peer that is not installed is skipped and the report says so (``pip
install -e '.[bench]'`` installs them all); a stack that fails a sample
shows as FAILED with the error, and the exit status is then 1. Setting
``WSFAST_BENCH_HIDE=name,...`` treats those stacks as not installed.

Optional stacks: ``bun`` (Bun's server, ``bun_echo.js``; found with
``--bun``, $WSFAST_BENCH_BUN, PATH or the cache folder, or installed there
by ``--install-bun``) and ``socketify`` (``socketify_echo.py``, from PyPI).

``--callgrind`` counts each server's user-space instructions per
operation under valgrind instead of timing (``callgrind.py``).

``--server NAME=COMMAND`` adds your own echo server: COMMAND (split like a
shell would, run without one; ``{port}`` is replaced by the port) must serve
WebSocket echo on ws://127.0.0.1:{port}/ without compression. It is measured
beside the others in pingpong, burst, idle and handshakes (idle reads the RSS
of the process started, so a server that forks workers is under-counted).
"""

import argparse
import datetime
import json
import os
import shlex
import statistics
import sys
import time

import common
from common import human, lib_version

HERE = os.path.dirname(os.path.abspath(__file__))

SUITE_VERSION = 1
BUILTIN = ("wsfast", "picows", "websockets", "aiohttp", "wsproto", "rawtcp", "bun", "socketify")
# Stacks whose server is not a servers.py function: a command (common.external_command).
EXTERNAL = ("bun", "socketify")
SCENARIOS = ("codec", "deflate", "pingpong", "pingpong-deflate", "burst", "idle", "handshakes", "broadcast")
ECHO = ("pingpong", "burst", "idle", "handshakes")
NETWORK = ECHO + ("pingpong-deflate",)
CODEC_SECTIONS = ("mask", "parse", "encode", "utf8")
HIDE_ENV = "WSFAST_BENCH_HIDE"

# Which built-in stacks take part in each scenario (custom servers join ECHO).
SCENARIO_STACKS = {
    "codec": ("wsfast", "picows", "websockets", "aiohttp", "wsproto"),
    "deflate": ("wsfast", "websockets"),
    "pingpong": ("wsfast", "picows", "websockets", "aiohttp", "rawtcp", "bun", "socketify"),
    "pingpong-deflate": ("wsfast", "bun", "socketify"),
    "burst": ("wsfast", "picows", "websockets", "aiohttp", "bun", "socketify"),
    "idle": ("wsfast", "picows", "websockets", "aiohttp", "bun", "socketify"),
    "handshakes": ("wsfast", "picows", "websockets", "aiohttp", "bun", "socketify"),
    "broadcast": ("wsfast", "picows", "websockets", "aiohttp"),
}
# Why a stack is absent from a scenario, for the report.
NOT_APPLICABLE = {
    ("deflate", "picows"): "no permessage-deflate",
    ("deflate", "aiohttp"): "not measured: no sans-I/O deflate API with the same settings",
    ("deflate", "wsproto"): "codec scenarios only",
    ("broadcast", "wsproto"): "sans-I/O library, no server",
    ("codec", "bun"): "in-process tables of Python libraries; Bun's codec is inside its server",
    ("codec", "socketify"): "no frame codec API (uWebSockets' parser is inside its server)",
    ("deflate", "bun"): "in-process; Bun's compression is measured in pingpong-deflate",
    ("deflate", "socketify"): "in-process; socketify's compression is measured in pingpong-deflate",
    ("broadcast", "bun"): "no server in broadcast_servers.py (bench_publish_bun.py compares Bun's publish)",
    ("broadcast", "socketify"): "no server in broadcast_servers.py",
    ("pingpong-deflate", "picows"): "no permessage-deflate",
    ("pingpong-deflate", "websockets"): "not measured: its server here runs without compression",
    ("pingpong-deflate", "aiohttp"): "not measured: its server here runs without compression",
    ("pingpong-deflate", "rawtcp"): "no WebSocket",
    ("pingpong-deflate", "wsproto"): "sans-I/O library, no server",
}
# Modules a stack needs: in-process (codec, deflate) and for its servers.
LIB_MODULES = {"wsfast": ("wsfast",), "picows": ("picows",), "websockets": ("websockets",),
               "aiohttp": ("aiohttp",), "wsproto": ("wsproto",), "rawtcp": ("uvloop",),
               "bun": (), "socketify": ("socketify",)}
SERVER_MODULES = common.REQUIRES
# The one row per stack that the suite compares, in each codec section
# (bench_codec.py's labels). Its README explains every row; picows' parse
# row is its zero-copy, no-UTF-8-check path, the most favourable to picows.
CODEC_ROWS = {
    "mask": {"wsfast": "wsfast.apply_mask (", "aiohttp": "aiohttp websocket_mask: copy + in place",
             "websockets": "websockets.speedups.apply_mask"},
    "parse": {"wsfast": "wsfast FrameParser.feed", "picows": "picows",
              "aiohttp": "aiohttp WebSocketReader", "websockets": "websockets ServerProtocol",
              "wsproto": "wsproto WSConnection"},
    "encode": {"wsfast": "wsfast FrameEncoder.encode", "picows": "picows WSTransport.send",
               "aiohttp": "aiohttp WebSocketWriter", "websockets": "websockets Frame.serialize",
               "wsproto": "wsproto send(Message)"},
    "utf8": {"wsfast": "wsfast.validate_utf8"},
}
CODEC_REFS = {"mask": ("memcpy", "memcpy: bytearray[:]"), "utf8": ("bytes.decode", "bytes.decode('utf-8')")}

FULL = dict(repeats=3, codec_rounds=3, frames=50000, min_time=0.012, deflate_scale=0.25,
            duration=2.0, messages=10000, bursts=3, conns=5000, settle=1.0, concurrency=4,
            bcast_clients=1000, bcast_procs=2, broadcasts=10, callgrind_ops=2000)
QUICK = dict(repeats=1, codec_rounds=1, frames=5000, min_time=0.003, deflate_scale=0.03,
             duration=0.5, messages=2000, bursts=1, conns=300, settle=0.3, concurrency=4,
             bcast_clients=100, bcast_procs=1, broadcasts=3, callgrind_ops=300)


def hidden():
    return {s.strip() for s in os.environ.get(HIDE_ENV, "").split(",") if s.strip()}


def missing(modules, stack):
    if stack in hidden():
        return [stack]
    return common.missing_modules(modules)


def socketify_problem():
    """Why socketify cannot serve here (it installs from a wheel that bundles
    uWebSockets and loads libuv at import), or None."""
    import subprocess

    if "socketify" in hidden() or common.missing_modules(("socketify",)):
        return "not installed (pip install socketify)"
    done = subprocess.run([sys.executable, "-c", "import socketify"], capture_output=True, timeout=60)
    if done.returncode:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        return "installed but does not import on this Python: %s" % last[0][:160]
    return None


def bun_problem(opts):
    """(executable, None) or (None, why Bun is skipped); installs it into the
    cache folder first with --install-bun."""
    if "bun" in hidden():
        return None, "not installed (bun)"
    exe = common.find_bun(opts.bun)
    if exe is None and opts.install_bun:
        try:
            exe = common.install_bun()
        except (RuntimeError, OSError) as exc:
            return None, "could not be installed: %s" % exc
    if exe is None:
        return None, ("not installed (bun: not on PATH, not in %s; give --bun PATH, set %s, "
                      "or add --install-bun)" % (common.bun_cache_dir(), common.BUN_ENV))
    return exe, None


# -- progress ------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr (plain lines when it is not a terminal)."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = max(1e-9, total), 0.0, stream
        self.t0 = time.monotonic()
        self.tty = stream.isatty()
        self.last_line = 0.0

    def _eta(self):
        el = time.monotonic() - self.t0
        left = el / self.done * (self.total - self.done) if self.done else 0
        return "%s elapsed, ~%s left" % (_dur(el), _dur(left))

    def step(self, label, n=1, note=""):
        self.done = min(self.total, self.done + n)
        frac = self.done / self.total
        if self.tty:
            width = 28
            bar = "#" * int(frac * width) + "." * (width - int(frac * width))
            line = "\r[%s] %3d%%  %s  %s %s" % (bar, frac * 100, self._eta(), label, note)
            self.stream.write(line[:150].ljust(150))
            self.stream.flush()
        elif note.startswith("FAILED") or time.monotonic() - self.last_line > 5 or self.done == self.total:
            self.last_line = time.monotonic()
            self.stream.write("[%3d%%] %s  %s %s\n" % (frac * 100, self._eta(), label, note))
            self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _dur(s):
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


# -- cases -------------------------------------------------------------------------------------


class Case:
    """One figure measured for several stacks: a codec table, a deflate
    operation, or one network scenario."""

    def __init__(self, key, scenario, title, unit, higher_better, stacks, contenders=None, ref=None):
        self.key, self.scenario, self.title = key, scenario, title
        self.unit, self.higher_better = unit, higher_better
        self.stacks = list(stacks)           # stacks measured here
        self.contenders = contenders or {}   # in-process: stack -> bench_codec.Contender
        self.ref = ref                       # (name, Contender) shown for context, or None
        self.na = {}                         # stack -> why it is not in this case
        self.scale = 1.0                     # value = work / seconds * scale
        self.label = key                     # short name, for the chart


def codec_cases(sections, stacks, opts):
    import bench_codec

    bench_codec.steady_malloc()
    cases = []

    def make(section, sub, title, unit, contenders, scale):
        by_label = {c.label: c for c in contenders}
        rows, na = {}, {}
        for st in stacks:
            want = CODEC_ROWS[section].get(st)
            found = [c for lbl, c in by_label.items() if want and (lbl == want or
                                                                    (want.endswith("(") and lbl.startswith(want)))]
            if found:
                rows[st] = found[0]
            else:
                na[st] = "no %s row" % section
        ref = None
        if section in CODEC_REFS:
            name, label = CODEC_REFS[section]
            ref = (name, by_label[label])
        case = Case("codec %s %s" % (section, sub), "codec", title, unit, True, rows, rows, ref)
        case.na, case.scale = na, scale
        case.label = "%s %s" % (section if section != "utf8" else "UTF-8", sub)
        cases.append(case)

    if "mask" in sections:
        for size in opts.mask_sizes:
            make("mask", human(size), "mask %s (XOR unmask)" % human(size), "GB/s",
                 bench_codec.mask_contenders(size, opts.min_time), 1e-9)
    if "parse" in sections:
        for size in opts.parse_sizes:
            make("parse", "%d B" % size, "parse %d masked frames of %d B" % (opts.frames, size),
                 "frames/s", bench_codec.parse_contenders(opts.frames, size), 1.0)
    if "encode" in sections:
        for size in opts.parse_sizes:
            make("encode", "%d B" % size, "encode %d frames of %d B" % (opts.frames, size),
                 "frames/s", bench_codec.encode_contenders(opts.frames, size), 1.0)
    if "utf8" in sections:
        for name, data in bench_codec.utf8_texts().items():
            short = name.split(" (")[0]
            make("utf8", short, "UTF-8 validate 1 MiB, %s" % short, "GB/s",
                 bench_codec.utf8_contenders(data, opts.min_time), 1e-9)
    return cases


def deflate_cases(stacks, opts):
    import bench_codec
    import bench_protocol

    cases = []
    for size in opts.deflate_sizes:
        n, ops = bench_protocol.deflate_cases(size)
        n = max(10, int(n * opts.deflate_scale))
        for op, (ours, theirs) in ops.items():
            rows = {}
            for st, fn in (("wsfast", ours), ("websockets", theirs)):
                if st in stacks and fn is not None:
                    rows[st] = bench_codec.Contender(st, _loop(fn, n), n, _count(n))
            case = Case("deflate %s %s" % (op, human(size)), "deflate",
                        "permessage-deflate %s, %s JSON" % (op, human(size)), "msg/s", True, rows, rows)
            case.label = "deflate %s %s" % (op, human(size))
            cases.append(case)
    return cases


def _loop(fn, n):
    def prepare():
        def run():
            for _ in range(n):
                fn()
            return n
        return run
    return prepare


def _count(n):
    def check(got):
        assert got == n
    return check


NETWORK_TITLES = {
    "pingpong": ("ping-pong, 256 B, 1 in flight", "round trips/s", True),
    "pingpong-deflate": ("ping-pong, JSON text, permessage-deflate as a browser offers it, 1 in flight",
                         "round trips/s", True),
    "burst": ("burst of 1 KiB messages", "msg/s", True),
    "idle": ("idle connection, server RSS", "KiB/conn", False),
    "handshakes": ("handshakes (connect, upgrade, close)", "handshakes/s", True),
    "broadcast": ("broadcast 64 B to every client: time until all have it", "ms", False),
}
NETWORK_LABELS = {
    "pingpong": "ping-pong 256 B",
    "pingpong-deflate": "ping-pong deflate %(deflate_size)d B JSON",
    "burst": "burst 1 KiB",
    "idle": "idle RSS/conn",
    "handshakes": "handshakes",
    "broadcast": "broadcast to %(bcast_clients)d",
}


# -- running -----------------------------------------------------------------------------------


class Suite:
    def __init__(self, opts, stacks, custom):
        self.opts, self.stacks, self.custom = opts, stacks, custom
        self.samples = []
        self.skipped = {}    # (scenario, stack) -> reason
        self.cases = []
        self.bun = None       # Bun's executable, when it takes part
        self.versions = {}    # stack -> version, for stacks not found by distribution name

    def command(self, scenario, stack):
        """The server command for ``stack`` in a network scenario, or None
        for servers.py's own."""
        if stack in self.custom:
            return self.custom[stack]
        deflate = scenario == "pingpong-deflate"
        if stack in EXTERNAL:
            return common.external_command(stack, self.bun, deflate)
        if stack == "wsfast" and deflate:  # the echo server, compression on (its defaults)
            return [sys.executable, "-m", "wsfast", "echo", "--host", "127.0.0.1", "--port", "{port}",
                    "--workers", "1"] + (["--compression-idle", self.opts.compression_idle]
                                         if self.opts.compression_idle else [])
        return None

    def plan(self):
        o = self.opts
        problems = {}
        if "bun" in self.stacks:
            self.bun, problems["bun"] = bun_problem(o)
            if self.bun:
                self.versions["bun"] = common.bun_version(self.bun)
        if "socketify" in self.stacks:
            problems["socketify"] = socketify_problem()
        for sc in o.scenarios:
            members = [s for s in self.stacks if s in SCENARIO_STACKS[sc]]
            if sc in ECHO:
                members += list(self.custom)
            runnable = []
            for st in members:
                if st in self.custom:
                    runnable.append(st)
                    continue
                if st in EXTERNAL:
                    if problems.get(st):
                        self.skipped[(sc, st)] = problems[st]
                    else:
                        runnable.append(st)
                    continue
                need = LIB_MODULES[st] if sc in ("codec", "deflate") else SERVER_MODULES[st]
                miss = missing(need, st)
                if miss:
                    self.skipped[(sc, st)] = "not installed (%s)" % ", ".join(miss)
                else:
                    runnable.append(st)
            if sc == "codec":
                self.cases += codec_cases(o.codec_sections, runnable, o)
            elif sc == "deflate":
                self.cases += deflate_cases(runnable, o)
            else:
                title, unit, better = NETWORK_TITLES[sc]
                if sc == "idle":
                    title += ", %d connections" % o.conns
                if sc == "burst":
                    title = "burst, %d x 1 KiB" % o.messages
                if sc == "handshakes":
                    title += ", %d in flight" % o.concurrency
                if sc == "pingpong-deflate":
                    title += ", %d B" % o.deflate_size
                if sc == "broadcast":
                    title = "broadcast 64 B to %d clients, until all have it" % o.bcast_clients
                case = Case(sc, sc, title, unit, better, runnable)
                case.label = NETWORK_LABELS[sc] % vars(o)
                self.cases.append(case)
        for case in self.cases:
            for st in self.stacks:
                if st not in case.stacks and st not in case.na and (case.scenario, st) not in self.skipped:
                    case.na[st] = NOT_APPLICABLE.get((case.scenario, st), "not in this scenario")

    def cost(self, case):
        """Rough seconds per sample, so that the progress bar moves with time."""
        o = self.opts
        if case.contenders:
            return 0.1
        return {"pingpong": o.duration + 1.5, "pingpong-deflate": o.duration + 1.5, "burst": 2.0 + o.bursts * o.messages / 20000,
                "idle": 2.0 + o.settle + o.conns / 1500, "handshakes": o.duration + 1.5,
                "broadcast": 2.5 + o.bcast_clients / 400 + o.broadcasts * 0.05}[case.scenario]

    def units(self):
        o, total = self.opts, 0
        for c in self.cases:
            if c.contenders:
                rows = len(c.contenders) + (1 if c.ref else 0)
                total += self.cost(c) * rows * (1 + o.repeats * o.codec_rounds)  # with the warm-up
            else:
                total += self.cost(c) * o.repeats * len(c.stacks)
        return total

    def record(self, case, stack, rep, rnd, result):
        s = {"case": case.key, "scenario": case.scenario, "stack": stack, "repeat": rep, "round": rnd}
        s.update(result)
        self.samples.append(s)
        return s

    def warm_up(self, progress):
        import bench_codec

        for case in self.cases:
            rows = list(case.contenders.items()) + ([case.ref] if case.ref else [])
            for name, c in rows:
                try:
                    bench_codec.time_once(c)
                except Exception as exc:
                    c.warmup_error = "%s: %s" % (type(exc).__name__, exc)
                progress.step("warm-up %s %s" % (case.key, name), self.cost(case))

    def run_inproc(self, case, rep, progress):
        import bench_codec

        rows = list(case.contenders.items()) + ([("ref:" + case.ref[0], case.ref[1])] if case.ref else [])
        for k in range(self.opts.codec_rounds):
            shift = (rep * self.opts.codec_rounds + k) % len(rows)
            for name, c in rows[shift:] + rows[:shift]:
                err = getattr(c, "warmup_error", None)
                if err:
                    result = {"error": err}
                else:
                    try:
                        result = {"value": c.work / bench_codec.time_once(c) * case.scale}
                    except Exception as exc:
                        result = {"error": "%s: %s" % (type(exc).__name__, exc)}
                self.record(case, name, rep, k, result)
                progress.step("%s %s" % (case.key, name), self.cost(case), _note(result))

    def run_network(self, case, rep, progress):
        import bench_broadcast
        import bench_server

        o = self.opts
        ns = argparse.Namespace(duration=o.duration, timeout=o.timeout, browser_headers=False,
                                messages=o.messages, bursts=o.bursts, conns=o.conns, settle=o.settle,
                                concurrency=o.concurrency, profile_dir=None, size=o.deflate_size)
        stacks = case.stacks
        shift = rep % len(stacks)
        for st in stacks[shift:] + stacks[:shift]:
            progress.step("", 0, "%s %s ..." % (case.key, st))
            if case.scenario == "broadcast":
                res = bench_broadcast.run_sample(st, o.bcast_clients, o.bcast_procs, o.broadcasts, o.timeout)
            else:
                res = bench_server.run_sample(case.scenario, st, ns, rep, command=self.command(case.scenario, st))
            if "error" in res:
                result = {"error": res["error"]}
                if res.get("server_log"):
                    result["server_log"] = res["server_log"]
            else:
                result = {"value": res["rate"], "detail": {k: v for k, v in res.items() if k not in ("rate", "unit")}}
            self.record(case, st, rep, 0, result)
            progress.step("%s %s" % (case.key, st), self.cost(case), _note(result))

    def run(self):
        progress = Progress(self.units())
        try:
            if any(c.contenders for c in self.cases):
                self.warm_up(progress)
            for rep in range(self.opts.repeats):
                for case in self.cases:
                    if case.contenders:
                        self.run_inproc(case, rep, progress)
                    elif case.stacks:
                        self.run_network(case, rep, progress)
        finally:
            progress.close()


def _note(result):
    if "error" in result:
        return "FAILED: " + result["error"][:100]
    return fmt(result["value"])


# -- callgrind mode --------------------------------------------------------------------------------

# The callgrind.py client for each scenario it measures.
CALLGRIND_KINDS = {"pingpong": "echo", "handshakes": "handshake", "burst": "burst",
                   "pingpong-deflate": "deflate"}
CALLGRIND_UNITS = {"pingpong": "round trip", "handshakes": "handshake", "burst": "message",
                   "pingpong-deflate": "round trip"}
CALLGRIND_NA = {"idle": "a memory figure", "broadcast": "not measured under callgrind (many clients)",
                "codec": "in-process, timed", "deflate": "in-process, timed"}


def run_callgrind(suite, progress_stream=sys.stderr):
    """Instructions per operation of every stack's server in the scenarios
    that callgrind.py can drive: {scenario: {stack: value or {"error"}}}."""
    import callgrind

    o = suite.opts
    out = {}
    for case in suite.cases:
        sc = case.scenario
        if sc not in CALLGRIND_KINDS:
            continue
        row = out.setdefault(sc, {})
        for st in case.stacks:
            command = suite.command(sc, st)
            if command is None:
                command = [sys.executable, os.path.join(HERE, "servers.py"), st, "--port", "{port}"]
            elif isinstance(command, str):
                command = shlex.split(command)

            def argv(port, ops, command=command):
                return [a.replace("{port}", str(port)) for a in command]

            t = time.monotonic()
            try:
                row[st] = callgrind.per_operation(argv, CALLGRIND_KINDS[sc], o.callgrind_ops,
                                                  timeout=o.timeout * 5)
                note = "%.0f instructions/%s" % (row[st], CALLGRIND_UNITS[sc])
            except Exception as exc:  # a server callgrind cannot run: say why
                why = "%s: %s" % (type(exc).__name__, exc)
                if st == "bun":
                    why = ("n/a: Bun does not run to completion under valgrind (JIT-compiled code, "
                           "several threads): " + why)
                row[st] = {"error": why[:400]}
                note = "FAILED: " + why[:100]
            print("callgrind %s %s: %s (%.0fs)" % (sc, st, note, time.monotonic() - t),
                  file=progress_stream, flush=True)
    return out


def callgrind_markdown(suite, counts, command):
    o = suite.opts
    stacks = [st for st in list(suite.stacks) + list(suite.custom)
              if any(st in row for row in counts.values())]
    out = ["## wsfast bench --callgrind", "", "Command: `%s`" % command, "",
           "Server user-space instructions per operation: (I(3N) - I(N)) / 2N under "
           "`valgrind --tool=callgrind`, N = %d (`callgrind.py`)." % o.callgrind_ops, "",
           "| scenario | %s |" % " | ".join(stacks), "|---|%s" % ("---:|" * len(stacks))]
    for sc, row in counts.items():
        cells = []
        for st in stacks:
            v = row.get(st)
            if v is None:
                cells.append("skipped" if (sc, st) in suite.skipped else "n/a")
            elif isinstance(v, dict):
                cells.append("n/a" if v["error"].startswith("n/a") else "**FAILED**")
            else:
                cells.append("{:,.0f}".format(v))
        out.append("| %s, per %s | %s |" % (sc, CALLGRIND_UNITS[sc], " | ".join(cells)))
    out.append("")
    notes = ["%s in %s: %s" % (st, sc, v["error"]) for sc, row in counts.items()
             for st, v in row.items() if isinstance(v, dict)]
    notes += ["%s in %s: %s" % (st, sc, why) for (sc, st), why in sorted(suite.skipped.items())
              if sc in counts]
    notes += ["%s: not measured (%s)" % (sc, CALLGRIND_NA[sc]) for sc in o.scenarios if sc in CALLGRIND_NA]
    for n in notes:
        out.append("* " + n.replace("|", "/"))
    out.append("")
    return "\n".join(out)


# -- summary -------------------------------------------------------------------------------------


CPU_UNITS = {"pingpong": ("µs/round trip", 1.0), "pingpong-deflate": ("µs/round trip", 1.0), "burst": ("µs/message", 1.0),
             "handshakes": ("µs/handshake", 1.0), "broadcast": ("ms/broadcast", 1e-3)}


def metrics(case):
    """(key, title, label, unit, higher_is_better, value of a sample) for each
    figure a case yields: its own, and for the timed network scenarios the
    server's CPU time per operation, which a busy machine disturbs much less
    than a rate or a latency."""
    yield case.key, case.title, case.label, case.unit, case.higher_better, lambda s: s.get("value")
    if case.scenario in CPU_UNITS:
        unit, scale = CPU_UNITS[case.scenario]

        def cpu(s):
            us = s.get("detail", {}).get("server_cpu_us")
            return None if us is None else us * scale
        yield (case.key + " cpu", "%s: server CPU time" % case.label, case.label + ": server CPU",
               unit, False, cpu)


def summarize(suite):
    out = {}
    for case in suite.cases:
        samples = [s for s in suite.samples if s["case"] == case.key]
        names = list(case.stacks) + (["ref:" + case.ref[0]] if case.ref else [])
        for key, title, label, unit, better, value in metrics(case):
            base = {(s["repeat"], s["round"]): value(s) for s in samples if s["stack"] == "wsfast"}
            cells = {}
            for st in names:
                mine = [s for s in samples if s["stack"] == st]
                good = [value(s) for s in mine if value(s) is not None]
                errors = [s["error"] for s in mine if "error" in s]
                cell = {"samples": len(mine)}
                if errors:
                    cell["errors"] = sorted(set(errors))
                if not good:
                    cell["status"] = "FAILED" if errors else "no samples"
                    cells[st] = cell
                    continue
                cell["status"] = "ok" if not errors else "FAILED in %d of %d samples" % (len(errors), len(mine))
                cell.update(median=statistics.median(good), min=min(good), max=max(good))
                rel = []
                for s in mine:
                    w, v = base.get((s["repeat"], s["round"])), value(s)
                    if v and w:
                        rel.append(v / w if better else w / v)
                if rel:
                    cell.update(rel_median=statistics.median(rel), rel_min=min(rel), rel_max=max(rel))
                if key == case.key:
                    details = [s["detail"] for s in mine if "detail" in s]
                    for k in ("server_cpu_us", "client_cpu_us", "p50_ms", "p99_ms", "max_ms",
                              "rss_before_kib", "rss_after_kib"):
                        xs = [d[k] for d in details if isinstance(d.get(k), (int, float))]
                        if xs:
                            cell[k] = statistics.median(xs)
                cells[st] = cell
            for st in suite.stacks:
                if (case.scenario, st) in suite.skipped:
                    cells[st] = {"status": "skipped: " + suite.skipped[(case.scenario, st)]}
                elif st in case.na:
                    cells[st] = {"status": "n/a: " + case.na[st]}
            out[key] = {"scenario": case.scenario, "title": title, "label": label, "unit": unit,
                        "higher_is_better": better, "stacks": cells}
    return out


def stack_status(suite, summary):
    status = {}
    for st in list(suite.stacks) + list(suite.custom):
        cells = [(k, c["stacks"][st]) for k, c in summary.items() if st in c["stacks"]]
        failed = []
        for k, c in cells:
            sc = summary[k]["scenario"]
            if c["status"].startswith("FAILED") and sc not in failed:
                failed.append(sc)
        ran = [k for k, c in cells if c["status"] == "ok" or c["status"].startswith("FAILED")]
        skips = sorted({sc for (sc, s) in suite.skipped if s == st})
        if failed:
            text = "FAILED in " + ", ".join(failed)
        elif ran:
            text = "ok"
            if skips:
                text += "; skipped in %s: %s" % (", ".join(skips), suite.skipped[(skips[0], st)])
        elif skips:
            text = "skipped: " + suite.skipped[(skips[0], st)]
        else:
            text = "not in the selected scenarios"
        entry = {"status": text, "version": None}
        if st in suite.custom:
            entry.update(kind="custom", command=suite.custom[st])
        else:
            entry.update(kind="builtin", version=suite.versions.get(st) or
                         lib_version("uvloop" if st == "rawtcp" else st))
        status[st] = entry
    return status


# -- formatting -------------------------------------------------------------------------------


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1e6:
        return "%.2fM" % (x / 1e6)
    if a >= 1e4:
        return "%.0fk" % (x / 1e3)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_rel(c):
    return "%.2f×" % c["rel_median"] if "rel_median" in c else "-"


def short_status(cell):
    s = cell["status"]
    if s.startswith("skipped"):
        return "skipped"
    if s.startswith("n/a"):
        return "n/a"
    if s.startswith("FAILED") and "median" not in cell:
        return "**FAILED**"
    return None


def markdown(doc):
    env, summary, stacks = doc["env"], doc["summary"], doc["stacks"]
    columns = [s for s in stacks if any(s in c["stacks"] and not c["stacks"][s]["status"].startswith("n/a")
                                        for c in summary.values())] or list(stacks)
    o = doc["params"]
    out = ["## wsfast bench", "", "Command: `%s`" % doc["command"], ""]
    out.append("%s, %s cores (%s usable), %s, %s; load average %s at start, %s at end. "
               "%d repeat(s), %.0f s." % (env["cpu"], env["cores"], env["usable_cores"], env["kernel"],
                                          env["python"], env["loadavg_at_start"], env.get("loadavg_at_end", "-"),
                                          o["repeats"], doc["seconds"]))
    out.append("")
    out.append("### Stacks")
    out.append("")
    out.append("| stack | version | status |")
    out.append("|---|---|---|")
    for st, e in stacks.items():
        ver = e.get("version") or ("custom: `%s`" % e["command"] if e["kind"] == "custom" else "-")
        out.append("| %s | %s | %s |" % (st, ver, e["status"]))
    out.append("")
    out.append("### Relative to wsfast (median of per-repeat ratios; above 1 = better than wsfast)")
    out.append("")
    out.append("| scenario | unit | wsfast | %s |" % " | ".join(c for c in columns if c != "wsfast"))
    out.append("|---|---|---:|%s" % ("---:|" * (len(columns) - (1 if "wsfast" in columns else 0))))
    for key, c in summary.items():
        w = c["stacks"].get("wsfast", {})
        wcell = short_status(w) or fmt(w.get("median"))
        row = ["%s" % c["title"], "%s (%s)" % (c["unit"], "higher is better" if c["higher_is_better"]
                                                 else "lower is better"), wcell]
        for st in columns:
            if st == "wsfast":
                continue
            cell = c["stacks"].get(st)
            row.append("n/a" if cell is None else (short_status(cell) or fmt_rel(cell)))
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("### Every figure (median, min – max over the samples; ratio to wsfast with its min – max)")
    out.append("")
    out.append("| scenario | stack | median | min – max | vs wsfast | min – max | notes |")
    out.append("|---|---|---:|---:|---:|---:|---|")
    for key, c in summary.items():
        for st, cell in c["stacks"].items():
            if cell["status"].startswith(("n/a", "skipped")):
                continue
            notes = []
            if cell["status"] != "ok":
                notes.append("**%s**: %s" % (cell["status"], "; ".join(cell.get("errors", []))[:200]))
            if "p50_ms" in cell:
                notes.append("p50 %.1f ms, p99 %.1f ms" % (cell["p50_ms"], cell["p99_ms"]))
            if "client_cpu_us" in cell:
                notes.append("client CPU %s µs/op" % fmt(cell["client_cpu_us"]))
            if "rss_after_kib" in cell:
                notes.append("RSS %.1f → %.1f MiB" % (cell["rss_before_kib"] / 1024, cell["rss_after_kib"] / 1024))
            if st.startswith("ref:"):
                notes.append("reference, for scale")
            if "median" not in cell:
                out.append("| %s | %s | **FAILED** | | | | %s |" % (c["title"], st, "; ".join(notes).replace("|", "/")))
                continue
            rel = ("%.2f×" % cell["rel_median"], "%.2f – %.2f" % (cell["rel_min"], cell["rel_max"])) \
                if "rel_median" in cell else ("-", "-")
            out.append("| %s | %s | %s %s | %s – %s | %s | %s | %s |" % (
                c["title"], st, fmt(cell["median"]), c["unit"], fmt(cell["min"]), fmt(cell["max"]),
                rel[0], rel[1], "; ".join(notes).replace("|", "/")))
    out.append("")
    skipped = [st for st, e in stacks.items() if e["status"].startswith("skipped")]
    if skipped:
        out.append("Skipped (not installed): %s. `pip install -e '.[bench]'` (in a clone) installs every peer." %
                   ", ".join(skipped))
        out.append("")
    failed = [st for st, e in stacks.items() if e["status"].startswith("FAILED")]
    if failed:
        out.append("**FAILED: %s** (see the notes above and the JSON for every error)." % ", ".join(failed))
        out.append("")
    return "\n".join(out)


def chart(doc, path):
    """Bars of every peer's ratio to wsfast, per scenario, drawn from 1 (log scale)."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = doc["summary"]
    peers = [st for st in doc["stacks"] if st != "wsfast"]
    keys = [k for k in summary if any("rel_median" in summary[k]["stacks"].get(st, {}) or
                                      summary[k]["stacks"].get(st, {}).get("status", "").startswith("FAILED")
                                      for st in peers)]
    peers = [st for st in peers if any(st in summary[k]["stacks"] and summary[k]["stacks"][st]["status"]
                                       not in ("",) and not summary[k]["stacks"][st]["status"].startswith(("n/a", "skipped"))
                                       for k in keys)]
    if not keys or not peers:
        return "nothing to compare (no peer measured beside wsfast)"
    n = len(peers)
    fig, ax = plt.subplots(figsize=(10, 1.5 + len(keys) * (0.18 * n + 0.25)))
    height = 0.8 / n
    colors = plt.get_cmap("tab10").colors
    values = [1.0]
    # Within each scenario, only the stacks that took part get a slot, centred.
    slots = {}
    for j, k in enumerate(keys):
        here = [st for st in peers if "rel_median" in summary[k]["stacks"].get(st, {}) or
                summary[k]["stacks"].get(st, {}).get("status", "").startswith("FAILED")]
        for i, st in enumerate(here):
            slots[(k, st)] = j + (i - (len(here) - 1) / 2) * height
    for i, st in enumerate(peers):
        ys, xs, lo, hi, failed_y = [], [], [], [], []
        for j, k in enumerate(keys):
            cell = summary[k]["stacks"].get(st)
            y = slots.get((k, st))
            if cell and "rel_median" in cell:
                ys.append(y)
                xs.append(cell["rel_median"])
                lo.append(cell["rel_median"] - cell["rel_min"])
                hi.append(cell["rel_max"] - cell["rel_median"])
                values += [cell["rel_min"], cell["rel_max"]]
            elif cell and cell["status"].startswith("FAILED"):
                failed_y.append(y)
        color = colors[i % len(colors)]
        ax.barh(ys, [x - 1.0 for x in xs], left=1.0, height=height * 0.9, color=color, label=st)
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="none", ecolor="0.25", elinewidth=0.8, capsize=1.5)
        for y in failed_y:
            ax.text(1.02, y, "%s FAILED" % st, va="center", fontsize=7, color="red")
    lo_x, hi_x = min(values), max(values)
    ax.set_xscale("log")
    ax.set_xlim(min(0.5, lo_x / 1.5), max(2.0, hi_x * 1.5))
    ax.axvline(1.0, color="black", lw=1.2)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels(["%s\n%s" % (summary[k]["label"], summary[k]["unit"]) for k in keys], fontsize=7.5)
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.set_xlabel("relative to wsfast (wsfast = 1; right of the line: better than wsfast, left: worse)\n"
                  "bar: median of the per-repeat ratios; whiskers: min - max", fontsize=8)
    env = doc["env"]
    ax.set_title("wsfast bench: each peer relative to wsfast, measured in the same run\n%s, %s cores, %s, %s"
                 % (env["cpu"], env["cores"], env["python"], env["kernel"]), fontsize=9)
    ax.grid(axis="x", which="both", color="0.92")
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# -- environment -------------------------------------------------------------------------------


def environment():
    env = common.environment()
    for name in ("uvloop", "matplotlib"):
        env[name] = lib_version(name) or "not installed"
    env["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    env["clock"] = "codec and deflate: thread CPU time; network scenarios: wall clock"
    return env


# -- command line ------------------------------------------------------------------------------


def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()]


def build_parser(prog=None):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                epilog="Defaults are for a full run; --quick picks smaller ones "
                                       "(any option given still wins).")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help="comma-separated, from %s (default: all)" % ",".join(SCENARIOS))
    p.add_argument("--stacks", default=",".join(BUILTIN),
                   help="comma-separated, from %s (default: all)" % ",".join(BUILTIN))
    p.add_argument("--server", action="append", default=[], metavar="NAME=COMMAND",
                   help="also measure your echo server in the echo scenarios; {port} in COMMAND "
                        "is replaced by the port to listen on (repeatable)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 1 repeat, small sizes (< 1 minute)")
    p.add_argument("--repeats", type=int, help="passes over every scenario (default 3; quick 1)")
    g = p.add_argument_group("codec and deflate")
    g.add_argument("--codec-sections", default=",".join(CODEC_SECTIONS),
                   help="comma-separated, from %s (default: all)" % ",".join(CODEC_SECTIONS))
    g.add_argument("--codec-rounds", type=int, help="rounds per repeat (default 3; quick 1)")
    g.add_argument("--frames", type=int, help="frames per parse/encode sample (default 50,000)")
    g.add_argument("--parse-sizes", type=int_list, default=[16, 125], metavar="N,N",
                   help="payload sizes for parse and encode (default 16,125)")
    g.add_argument("--mask-sizes", type=int_list, default=[125, 64 * 1024], metavar="N,N",
                   help="mask sizes in bytes (default 125,65536)")
    g.add_argument("--deflate-sizes", type=int_list, default=[256, 16384], metavar="N,N",
                   help="JSON message sizes (default 256,16384)")
    g.add_argument("--deflate-size", type=int, default=256,
                   help="pingpong-deflate: JSON message size in bytes (default 256)")
    g.add_argument("--compression-idle", choices=("window", "keep", "adaptive"),
                   help="pingpong-deflate: wsfast's compression_idle (default: the library's)")
    g.add_argument("--deflate-scale", type=float, help="messages per deflate sample, as a "
                   "fraction of bench_protocol.py's (default 0.25)")
    g = p.add_argument_group("network scenarios")
    g.add_argument("--duration", type=float, help="seconds per ping-pong and handshake sample (default 2)")
    g.add_argument("--messages", type=int, help="messages per burst (default 10,000)")
    g.add_argument("--bursts", type=int, help="bursts per burst sample (default 3)")
    g.add_argument("--conns", type=int, help="idle connections (default 5,000)")
    g.add_argument("--settle", type=float, help="idle: seconds before reading the RSS (default 1)")
    g.add_argument("--concurrency", type=int, help="handshakes in flight (default 4)")
    g.add_argument("--bcast-clients", type=int, help="broadcast: client connections (default 1,000)")
    g.add_argument("--bcast-procs", type=int, help="broadcast: client processes (default 2)")
    g.add_argument("--broadcasts", type=int, help="broadcast: counted broadcasts per sample (default 10)")
    g.add_argument("--timeout", type=float, default=120.0, help="time limit per network sample (s)")
    g = p.add_argument_group("instruction counts")
    g.add_argument("--callgrind", action="store_true",
                   help="instead of timing, count each server's instructions per operation under "
                        "valgrind's callgrind (pingpong, pingpong-deflate, burst, handshakes)")
    g.add_argument("--callgrind-ops", type=int, help="N: operations in the shorter of the two runs "
                   "(default 2,000; quick 300)")
    g = p.add_argument_group("optional stacks (skipped when absent)")
    g.add_argument("--bun", metavar="PATH", help="Bun executable (default: $%s, bun on PATH, "
                   "or the one --install-bun put in the cache folder)" % common.BUN_ENV)
    g.add_argument("--install-bun", action="store_true",
                   help="when Bun is not found, run `npm install bun` into the cache folder "
                        "($%s, default ~/.cache/wsfast-bench) first" % common.BUN_CACHE_ENV)
    g = p.add_argument_group("output")
    g.add_argument("--json", metavar="FILE", help="every sample, the summary and the environment")
    g.add_argument("--png", metavar="FILE", help="chart of the ratios to wsfast (needs matplotlib)")
    g.add_argument("--md", metavar="FILE", help="also write the markdown report here")
    return p


def parse_args(argv, prog=None):
    p = build_parser(prog)
    o = p.parse_args(argv)
    defaults = QUICK if o.quick else FULL
    for k, v in defaults.items():
        if getattr(o, k, None) is None:
            setattr(o, k, v)
    o.scenarios = [s.strip() for s in o.scenarios.split(",") if s.strip()]
    o.codec_sections = [s.strip() for s in o.codec_sections.split(",") if s.strip()]
    stacks = [s.strip() for s in o.stacks.split(",") if s.strip()]
    for s in o.scenarios:
        if s not in SCENARIOS:
            p.error("unknown scenario %r (choose from %s)" % (s, ", ".join(SCENARIOS)))
    for s in o.codec_sections:
        if s not in CODEC_SECTIONS:
            p.error("unknown codec section %r" % s)
    for s in stacks:
        if s not in BUILTIN:
            p.error("unknown stack %r (choose from %s; add your own with --server)" % (s, ", ".join(BUILTIN)))
    if "wsfast" not in stacks:
        stacks.insert(0, "wsfast")  # every ratio is taken against it
    custom = {}
    for spec in o.server:
        name, sep, command = spec.partition("=")
        name = name.strip()
        if not sep or not name or not command.strip():
            p.error("--server wants NAME=COMMAND, got %r" % spec)
        if name in BUILTIN or name in custom or not name.replace("-", "").replace("_", "").isalnum():
            p.error("--server: bad or duplicate name %r" % name)
        if "{port}" not in command:
            p.error("--server %s: COMMAND must contain {port}" % name)
        custom[name] = command.strip()
    for k in ("repeats", "codec_rounds", "frames", "bcast_clients", "bcast_procs", "broadcasts", "conns",
              "callgrind_ops"):
        if getattr(o, k) < 1:
            p.error("--%s must be at least 1" % k.replace("_", "-"))
    return o, stacks, custom


def main(argv=None, prog=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    o, stacks, custom = parse_args(argv, prog)
    command = " ".join([prog or "python3 benchmarks/suite.py"] + ([shlex.join(argv)] if argv else []))
    started = time.time()
    env = environment()
    suite = Suite(o, stacks, custom)
    suite.plan()
    for (sc, st), why in sorted(suite.skipped.items()):
        print("skipping %s in %s: %s" % (st, sc, why), file=sys.stderr)
    if o.callgrind:
        import callgrind

        if not callgrind.available():
            print("--callgrind needs valgrind (e.g. apt-get install valgrind)", file=sys.stderr)
            return 2
        counts = run_callgrind(suite)
        text = callgrind_markdown(suite, counts, command)
        print(text)
        if o.md:
            with open(o.md, "w") as f:
                f.write(text)
        if o.json:
            with open(o.json, "w") as f:
                json.dump({"suite_version": SUITE_VERSION, "command": command, "env": env,
                           "callgrind_ops": o.callgrind_ops, "callgrind": counts,
                           "skipped": {"%s %s" % k: v for k, v in suite.skipped.items()}}, f, indent=1)
        return 1 if any(isinstance(v, dict) and not v["error"].startswith("n/a")
                        for row in counts.values() for v in row.values()) else 0
    suite.run()
    try:
        env["loadavg_at_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        env["loadavg_at_end"] = "n/a"
    summary = summarize(suite)
    params = {k: (v if not isinstance(v, list) else list(v)) for k, v in vars(o).items()
              if k not in ("json", "png", "md", "server")}
    doc = {"suite_version": SUITE_VERSION, "command": command, "argv": argv, "env": env,
           "params": params, "seconds": time.time() - started, "custom_servers": custom,
           "stacks": {}, "summary": summary, "samples": suite.samples}
    doc["stacks"] = stack_status(suite, summary)
    text = markdown(doc)
    if o.png:
        problem = chart(doc, o.png)
        doc["png"] = o.png if problem is None else None
        text += "\n" + ("Chart: %s\n" % o.png if problem is None else "Chart not written: %s\n" % problem)
    print(text)
    if o.md:
        with open(o.md, "w") as f:
            f.write(text)
    if o.json:
        with open(o.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 1 if any(e["status"].startswith("FAILED") for e in doc["stacks"].values()) else 0


if __name__ == "__main__":
    # `wsfast bench` runs this script with WSFAST_BENCH_PROG="wsfast bench".
    sys.exit(main(prog=os.environ.get("WSFAST_BENCH_PROG")))
