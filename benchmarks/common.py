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
}


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
