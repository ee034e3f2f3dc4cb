"""The rules of the house, checked on the source (see docs/architecture.md,
"Layers"): each module imports only from its own layer or those below;
the codec and protocol layers do no I/O and own no clock; drivers do not
import each other and use only the protocol's public names; only the
codec bridge includes the C core, and the C core never includes Python.h.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "wsfast"

# Lowest first. A module may import from its own layer and those below.
LAYERS = [
    ("ground", ["constants", "errors"]),
    ("codec", ["_backend", "_python", "_core", "prepared"]),
    ("protocol", ["protocol", "server_protocol", "client_protocol", "http", "handshake",
                  "extensions", "events", "uri", "closed", "wsproto"]),
    ("drivers-shared", ["backpressure", "topics"]),
    ("drivers", ["server", "asyncio", "client", "uvicorn"]),
    ("apps", ["apps", "cli", "__main__"]),
]
# The package's own facade re-exports the codec's names.
FACADE = "__init__"
# What the codec and protocol layers may not import: they own no socket,
# no event loop, no thread and no clock, and do not log.
NO_IO = {"socket", "ssl", "select", "selectors", "asyncio", "threading", "time", "logging"}
DRIVERS = ["server", "asyncio", "client", "uvicorn"]


def _unit(path, package=None):
    """The top-level unit of wsfast a source file belongs to."""
    rel = path.relative_to(package or PACKAGE).parts
    return rel[0][:-3] if rel[0].endswith(".py") else rel[0]


def _layer(unit):
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    return None


def _sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path, package=None):
    """(absolute module name, line) for every import in a wsfast source."""
    rel = path.relative_to((package or PACKAGE).parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                if not node.module:
                    for alias in node.names:
                        yield name + "." + alias.name, node.lineno
                    continue
            else:
                name = node.module
            yield name, node.lineno


def test_every_module_belongs_to_a_layer():
    units = {_unit(p) for p in _sources()} - {FACADE}
    unknown = [u for u in units if _layer(u) is None]
    assert not unknown, "put these in a layer (test_layers.LAYERS): %s" % unknown


def _problems(path, package=None):
    """What breaks the import rules in one source file."""
    package = package or PACKAGE
    unit = _unit(path, package)
    if unit == FACADE:
        return []
    own = _layer(unit)
    problems = []
    for name, line in _imports(path, package):
        top = name.split(".")[0]
        if top == "wsfast":
            parts = name.split(".")
            if len(parts) == 1:
                if LAYERS[own][0] != "apps":  # the facade sits above the codec
                    problems.append("line %d imports the package facade" % line)
                continue
            target = parts[1]
            layer = _layer(target)
            if layer is not None and layer > own:
                problems.append("line %d: %s (layer %s) imports %s (layer %s)"
                                % (line, unit, LAYERS[own][0], name, LAYERS[layer][0]))
            if unit in DRIVERS and target in DRIVERS and target != unit:
                problems.append("line %d: driver %s imports driver %s" % (line, unit, target))
        elif own <= _layer("closed") and top in NO_IO:
            problems.append("line %d: %s layer imports %s" % (line, LAYERS[own][0], top))
    return problems


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    problems = _problems(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("unit", DRIVERS)
def test_drivers_use_only_public_connection_names(unit):
    paths = [PACKAGE / (unit + ".py")] if (PACKAGE / (unit + ".py")).exists() else \
        sorted((PACKAGE / unit).rglob("*.py"))
    private = re.compile(r"\bconn\._[a-z]")
    found = ["%s:%d: %s" % (p.name, i, line.strip())
             for p in paths for i, line in enumerate(p.read_text().splitlines(), 1)
             if private.search(line)]
    assert not found, "\n".join(found)


def test_only_the_codec_bridge_includes_the_c_core_and_the_core_has_no_python_h():
    for path in (ROOT / "csrc").iterdir():
        if path.suffix in (".c", ".h"):
            assert "Python.h" not in path.read_text(), path.name
    core_headers = {p.name for p in (ROOT / "csrc").glob("*.h")}
    includers = sorted(p.name for p in PACKAGE.rglob("*")
                       if p.suffix in (".pyx", ".pxd", ".pxi", ".py")
                       and set(re.findall(r'cdef extern from "([^"]+)"', p.read_text())) & core_headers)
    assert includers == ["_csrc.pxd"], includers


def test_the_rules_catch_a_violation(tmp_path):
    # The checker itself: a protocol-layer module that imports socket and
    # a driver, and a driver that imports another, are both reported.
    package = tmp_path / "wsfast"
    (package / "server").mkdir(parents=True)
    bad = package / "protocol.py"
    bad.write_text("import socket\nfrom .server import Server\nfrom . import events\n")
    problems = _problems(bad, package)
    assert len(problems) == 2, problems
    assert "imports socket" in problems[0] and "imports wsfast.server" in problems[1]
    driver = package / "server" / "loop.py"
    driver.write_text("from ..asyncio import serve\nfrom ..backpressure import MessageQueue\n")
    assert _problems(driver, package) == ["line 1: driver server imports driver asyncio"]
