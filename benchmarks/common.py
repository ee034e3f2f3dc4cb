"""What the benchmark scripts share: the stacks and the modules each
needs, the machine and library versions a result was measured with, and
the formatting of sizes. One copy, imported by the scripts beside it."""

import importlib.util
import os
import platform
import sys

# Modules each server stack needs; a stack whose modules are missing is
# skipped (servers.py, broadcast_servers.py, bench_server.py, suite.py).
REQUIRES = {
    "wsfast": ("wsfast",),
    "picows": ("picows", "uvloop"),
    "websockets": ("websockets", "uvloop"),
    "aiohttp": ("aiohttp", "uvloop"),
    "rawtcp": ("uvloop",),
    "socketify": ("socketify",),
}

HERE = os.path.dirname(os.path.abspath(__file__))

# -- Bun (uWebSockets inside): an optional stack run from its own binary ---------

BUN_ENV = "WSFAST_BENCH_BUN"
BUN_CACHE_ENV = "WSFAST_BENCH_CACHE"


def bun_cache_dir():
    """Where ``--install-bun`` puts Bun (``npm install bun`` there):
    $WSFAST_BENCH_CACHE, else $XDG_CACHE_HOME/wsfast-bench, else
    ~/.cache/wsfast-bench."""
    base = os.environ.get(BUN_CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "wsfast-bench")
    return os.path.join(base, "bun")


def find_bun(explicit=None):
    """The Bun executable to use, or None: ``explicit`` (``--bun``), then
    $WSFAST_BENCH_BUN, then ``bun`` on PATH, then the cache folder."""
    import shutil

    for cand in (explicit, os.environ.get(BUN_ENV)):
        if cand:
            return shutil.which(cand) or (cand if os.access(cand, os.X_OK) else None)
    found = shutil.which("bun")
    if found:
        return found
    cached = os.path.join(bun_cache_dir(), "node_modules", ".bin", "bun")
    return cached if os.access(cached, os.X_OK) else None


def install_bun():
    """``npm install bun`` into the cache folder; returns the executable or
    raises RuntimeError (npm missing or the install failed)."""
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH (install Node.js, or give --bun PATH)")
    where = bun_cache_dir()
    os.makedirs(where, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", where, "--no-audit", "--no-fund", "bun"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
    exe = os.path.join(where, "node_modules", ".bin", "bun")
    if done.returncode or not os.access(exe, os.X_OK):
        raise RuntimeError("npm install bun failed: %s" % done.stderr.decode(errors="replace")[-300:])
    return exe


def bun_version(exe):
    import subprocess

    try:
        out = subprocess.run([exe, "--version"], capture_output=True, timeout=30)
        return out.stdout.decode().strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def external_command(stack, bun=None, deflate=False):
    """The echo server command of an optional stack that ``servers.py`` does
    not run in-process, with ``{port}`` for the port; None if the stack is
    not available. ``bun``: the Bun executable (``find_bun()``)."""
    extra = ["--deflate"] if deflate else []
    if stack == "bun":
        return [bun, os.path.join(HERE, "bun_echo.js"), "--port", "{port}"] + extra if bun else None
    if stack == "socketify":
        return [sys.executable, os.path.join(HERE, "socketify_echo.py"), "--port", "{port}"] + extra
    return None


def missing_modules(modules):
    """The modules of ``modules`` that are not installed."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def lib_version(name):
    """The installed version of distribution ``name``, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def human(n):
    """A byte count as B, KiB or MiB (whole units)."""
    if n >= 1024 * 1024:
        return "%d MiB" % (n // (1024 * 1024))
    if n >= 1024:
        return "%d KiB" % (n // 1024)
    return "%d B" % n


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "n/a"


def environment(libraries=("picows", "websockets", "aiohttp", "wsproto")):
    """The machine, the interpreter, wsfast's build and the peers' versions."""
    import wsfast

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    env = {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "loadavg_at_start": loadavg(),
        "kernel": "%s %s" % (platform.system(), platform.release()),
        "python": "%s %s" % (platform.python_implementation(), sys.version.split()[0]),
        "wsfast": "%s (backend %s, mask kernel %s, kernels %s)" % (
            wsfast.__version__, wsfast.backend, wsfast.mask_kernel(),
            ",".join(wsfast.mask_kernels())),
    }
    for name in libraries:
        env[name] = lib_version(name) or "not installed"
    return env
