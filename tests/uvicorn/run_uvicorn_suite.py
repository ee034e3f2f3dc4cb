#!/usr/bin/env python3
"""Run uvicorn's own WebSocket test suite against wsfast's uvicorn backend.

    python tests/uvicorn/run_uvicorn_suite.py [--workdir DIR] [--no-install]
                                              [--only-wsfast] [-- extra pytest args]

Steps:
1. Fetch the sdist of the installed uvicorn version with
   ``pip download --no-deps --no-binary :all: uvicorn==<version>`` (kept in
   the work directory, ``build/uvicorn-suite`` by default, and reused).
2. Unpack it and add ``wsfast.uvicorn:WSFastProtocol`` (id ``wsfast``) to
   the ``ws_protocol_cls`` fixture's parameters in ``tests/conftest.py``,
   next to uvicorn's own backends ``wsproto`` and ``websockets-sansio``.
3. Install the suite's test dependencies that are missing (SUITE_DEPS),
   unless ``--no-install``.
4. Run ``tests/protocols/test_websocket.py`` with pytest, every backend in
   the same run (``--only-wsfast``: wsfast's parameters and the tests that
   take none), and print passed/failed/skipped counts per backend.

Tests that fail for wsfast only because of a deliberate, documented
difference are listed in KNOWN_DIFFERENCES with the reason; they are marked
xfail (strict) for the wsfast parameter only, so they still run, and one
that starts passing makes the run fail until the entry is removed. The exit
status is pytest's.
"""

import argparse
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WSFAST_CLASS = "wsfast.uvicorn:WSFastProtocol"
TEST_FILE = "tests/protocols/test_websocket.py"

#: (import name, pip requirement) of what test_websocket.py and its
#: conftest import. The suite's own optional ones (trustme) are not needed.
#: OPTIONAL_DEPS widen the run when they install (zttp is uvicorn's third
#: HTTP protocol; its tests are skipped without it).
SUITE_DEPS = [
    ("pytest", "pytest>=8"),
    ("anyio", "anyio>=4"),  # its pytest plugin runs the async tests
    ("httpx2", "httpx2"),
    ("websockets", "websockets>=15"),
    ("wsproto", "wsproto>=1.2"),
    ("httptools", "httptools>=0.6"),
    ("h11", "h11>=0.16"),
]
OPTIONAL_DEPS = [("zttp", "zttp")]

#: test function name -> why it fails with wsfast by design. Parametrized
#: variants of a listed test are all covered.
KNOWN_DIFFERENCES = {
    "test_duplicate_handshake": (
        "a second websocket.accept raises in the app after the handshake; wsfast "
        "then closes with 1011 (RFC 6455 7.4.1, as Hypercorn does) where uvicorn's "
        "backends drop TCP and the test expects the client to see 1006"
    ),
    "test_close_resumes_reads_paused_on_an_unconsumed_message": (
        "wsfast honours ws_max_queue (default 32): reading pauses once that many "
        "messages wait for the app, not after the first one, so the test's "
        "precondition (reads paused after one unread message) does not hold; "
        "closing still resumes paused reads"
    ),
}

# Written at the sdist's root: the xfail marks and per-backend counts.
PLUGIN = r'''
import json
import os

import pytest

_DIFFERENCES = json.loads(os.environ["WSFAST_SUITE_DIFFERENCES"])
_BACKENDS = {}
_COUNTS = {}


def _backend_of(item):
    callspec = getattr(item, "callspec", None)
    if callspec is None or "ws_protocol_cls" not in callspec.params:
        return "not parametrized"
    value = str(callspec.params["ws_protocol_cls"])
    if "wsfast" in value:
        return "wsfast"
    if "wsproto" in value:
        return "wsproto"
    if "sansio" in value.lower():
        return "websockets-sansio"
    return value


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WSFAST_SUITE_ONLY_WSFAST"):
        keep = [i for i in items if _backend_of(i) in ("wsfast", "not parametrized")]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    for item in items:
        backend = _backend_of(item)
        _BACKENDS[item.nodeid] = backend
        name = item.originalname or item.name
        if backend == "wsfast" and name in _DIFFERENCES:
            item.add_marker(pytest.mark.xfail(reason=_DIFFERENCES[name], strict=True))


def pytest_runtest_logreport(report):
    backend = _BACKENDS.get(report.nodeid, "?")
    counts = _COUNTS.setdefault(backend, {})
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        counts[outcome] = counts.get(outcome, 0) + 1
    elif report.when == "teardown" and report.outcome == "failed":
        counts["teardown errors"] = counts.get("teardown errors", 0) + 1


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["WSFAST_SUITE_SUMMARY"], "w") as f:
        json.dump(_COUNTS, f, indent=1, sort_keys=True)
'''


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def fetch_sdist(version, workdir):
    unpacked = workdir / ("uvicorn-%s" % version)
    archive = workdir / ("uvicorn-%s.tar.gz" % version)
    if not archive.exists():
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "uvicorn==%s" % version, "-d", str(workdir)])
    if unpacked.exists():
        # Start from pristine sources so that the patch applies once.
        import shutil

        shutil.rmtree(unpacked)
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(workdir, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            for member in tar.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise RuntimeError("unsafe path in sdist: %s" % member.name)
            tar.extractall(workdir)
    if not (unpacked / TEST_FILE).exists():
        raise SystemExit("the uvicorn %s sdist has no %s" % (version, TEST_FILE))
    return unpacked


def patch_conftest(suite):
    """Add the wsfast class to the ws_protocol_cls fixture's params."""
    path = suite / "tests" / "conftest.py"
    text = path.read_text()
    fixture = text.find("def ws_protocol_cls(")
    if fixture < 0:
        raise SystemExit("no ws_protocol_cls fixture in %s" % path)
    decorator = text.rfind("@pytest.fixture(", 0, fixture)
    close = text.rfind("]", decorator, fixture)
    if decorator < 0 or close < 0 or "params=[" not in text[decorator:fixture]:
        raise SystemExit("unexpected ws_protocol_cls fixture shape in %s" % path)
    param = '    pytest.param("%s", id="wsfast"),\n    ' % WSFAST_CLASS
    before = text[:close].rstrip() + "\n    "
    path.write_text(before + param + text[close:])


def patch_tests(suite):
    """The keepalive tests check that the protocol under test is one of
    uvicorn's two classes before reading its timers: let ours through."""
    path = suite / TEST_FILE
    text = path.read_text()
    pattern = re.compile(r"isinstance\(protocol, \((_WSProtocol, WebSocketsSansIOProtocol)\)\)")
    text, n = pattern.subn(r"isinstance(protocol, (\1, WSFastProtocol))", text)
    if n:
        text = text.replace(
            "from uvicorn.server import ServerState\n",
            "from uvicorn.server import ServerState\nfrom wsfast.uvicorn import WSFastProtocol\n",
            1,
        )
    path.write_text(text)
    return n


def _missing(deps):
    missing = []
    for module, requirement in deps:
        try:
            __import__(module)
        except ImportError:
            missing.append(requirement)
    return missing


def install_missing(no_install):
    missing = _missing(SUITE_DEPS)
    if missing:
        if no_install:
            raise SystemExit("missing test dependencies: %s" % ", ".join(missing))
        run([sys.executable, "-m", "pip", "install", *missing])
    optional = _missing(OPTIONAL_DEPS)
    if optional and not no_install:
        try:
            run([sys.executable, "-m", "pip", "install", *optional])
        except subprocess.CalledProcessError:
            print("optional %s did not install; its tests will be skipped" % ", ".join(optional))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "uvicorn-suite")
    parser.add_argument("--no-install", action="store_true",
                        help="fail instead of pip-installing missing test dependencies")
    parser.add_argument("--only-wsfast", action="store_true",
                        help="deselect the parameters for uvicorn's own backends (CI: a third of the time)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    try:
        version = importlib.metadata.version("uvicorn")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit("uvicorn is not installed (pip install -e '.[uvicorn-test]')")
    install_missing(args.no_install)
    args.workdir.mkdir(parents=True, exist_ok=True)
    suite = fetch_sdist(version, args.workdir.resolve())
    patch_conftest(suite)
    patched = patch_tests(suite)
    plugin = suite / "wsfast_suite_plugin.py"
    plugin.write_text(PLUGIN)
    summary = suite / "wsfast-summary.json"

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(suite), str(ROOT / "src")]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["WSFAST_SUITE_DIFFERENCES"] = json.dumps(KNOWN_DIFFERENCES)
    env["WSFAST_SUITE_SUMMARY"] = str(summary)
    if args.only_wsfast:
        env["WSFAST_SUITE_ONLY_WSFAST"] = "1"
    cmd = [
        sys.executable, "-m", "pytest", TEST_FILE,
        # The sdist's addopts ask for pytest-xdist (-n 8); run serially on a
        # small shared machine, keeping its report flags and strictness.
        "-o", "addopts=-rxXs --strict-config --strict-markers",
        "-p", "wsfast_suite_plugin", "-p", "no:cacheprovider", "-q",
        *args.pytest_args,
    ]
    print("uvicorn %s suite in %s (%d isinstance checks patched)" % (version, suite, patched))
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=suite, env=env)

    if summary.exists():
        counts = json.loads(summary.read_text())
        print("\nper backend (uvicorn %s, tests/protocols/test_websocket.py):" % version)
        for backend in sorted(counts):
            c = counts[backend]
            parts = ["%d %s" % (c[k], k) for k in
                     ("passed", "failed", "skipped", "xfailed", "xpassed", "teardown errors") if c.get(k)]
            print("  %-20s %s" % (backend, ", ".join(parts) or "nothing ran"))
        print("documented wsfast differences (xfail, strict):")
        for name, reason in KNOWN_DIFFERENCES.items():
            print("  %s: %s" % (name, reason))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
