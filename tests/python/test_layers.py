"""The rules of the house, checked on the source (see docs/architecture.md,
"Layers"): each module imports only from its own layer or those below;
the codec and protocol layers do no I/O and own no clock; drivers do not
import each other (what they share is in ``wsfast.shared``) and use only
the protocol's public names; a compiled twin is reached only through the
place that picks its build; only the codec includes the C core, and the
C core never includes Python.h.
"""

import ast
import pathlib
import re

import pytest

from wsfast._twins import TWINS

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "wsfast"

# Lowest first: a folder (or top-level module) of src/wsfast and its layer.
# A module may import from its own layer and those below.
LAYERS = [
    ("ground", ["constants", "errors", "_twins"]),
    ("codec", ["codec"]),
    ("protocol", ["protocol", "wsproto"]),
    ("drivers-shared", ["shared", "bus"]),
    ("drivers", ["server", "asyncio", "sync", "asgi"]),
    ("apps", ["apps", "cli", "__main__"]),
]
# The package's facade re-exports the codec's names and keeps the old
# import paths of moved modules (_moved).
FACADE = {"__init__", "_moved"}
# What the codec and protocol layers may not import: they own no socket,
# no event loop, no thread and no clock, and do not log.
NO_IO = {"socket", "ssl", "select", "selectors", "asyncio", "threading", "time", "logging"}
DRIVERS = ["server", "asyncio", "sync", "asgi"]
# Driver modules that are sans-I/O all the same (the state machine a
# driver's transport drives), by name under the package: no I/O module and
# no server framework either.
SANS_IO_DRIVER_MODULES = {"asgi.state": NO_IO | {"uvicorn"}}


def _unit(path, package=None):
    """The top-level folder or module of wsfast a source file belongs to."""
    rel = path.relative_to(package or PACKAGE).parts
    return rel[0][:-3] if rel[0].endswith(".py") else rel[0]


def _layer(unit):
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    return None


def _sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path, package):
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree):
    """The import nodes inside ``if TYPE_CHECKING:`` blocks."""
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                nodes.update(ast.walk(child))
    return nodes


def _imports(path, package=None):
    """(absolute module name, line, at run time?) for every import in a source."""
    package = package or PACKAGE
    rel = path.relative_to(package.parent).with_suffix("")
    parent = list(rel.parts[:-1])
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _type_checking_only(tree)
    for node in ast.walk(tree):
        runtime = node not in typing_only
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, runtime
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parent[: len(parent) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                if not node.module:
                    for alias in node.names:
                        yield name + "." + alias.name, node.lineno, runtime
                    continue
            else:
                name = node.module
            yield name, node.lineno, runtime


def test_every_module_belongs_to_a_layer():
    units = {_unit(p) for p in _sources()} - FACADE
    unknown = [u for u in units if _layer(u) is None]
    assert not unknown, "put these in a layer (test_layers.LAYERS): %s" % unknown


def _twin(name, package_name):
    """Whether module ``name`` is a compiled twin (either build)."""
    tail = name.partition(".")[2]
    tail = tail[:-2] if tail.endswith("_c") else tail
    return package_name + "." + tail in TWINS


def _is_module(package, name):
    """Whether ``name`` is a folder or module of the package (not a name
    its facade, ``__init__.py``, defines)."""
    return (package / name).is_dir() or (package / (name + ".py")).is_file()


def _problems(path, package=None):
    """What breaks the house rules in one source file."""
    package = package or PACKAGE
    unit = _unit(path, package)
    if unit in FACADE:
        return []
    own = _layer(unit)
    me = _module_name(path, package)
    problems = []
    sans_io = SANS_IO_DRIVER_MODULES.get(me.partition(".")[2], set())
    for name, line, runtime in _imports(path, package):
        top = name.split(".")[0]
        if top in sans_io:
            problems.append("line %d: sans-I/O %s imports %s" % (line, me, top))
        if top == package.name:
            parts = name.split(".")
            if len(parts) == 1:
                if LAYERS[own][0] != "apps":  # the facade sits above the codec
                    problems.append("line %d imports the package facade" % line)
                continue
            target = parts[1]
            if not _is_module(package, target):  # a name of the facade, not a module
                if LAYERS[own][0] != "apps":
                    problems.append("line %d imports %s from the package facade" % (line, target))
                continue
            layer = _layer(target)
            if layer is not None and layer > own:
                problems.append("line %d: %s (layer %s) imports %s (layer %s)"
                                % (line, unit, LAYERS[own][0], name, LAYERS[layer][0]))
            if unit in DRIVERS and target in DRIVERS and target != unit:
                problems.append("line %d: driver %s imports driver %s" % (line, unit, target))
            # A twin by its own name gives one build whatever was chosen:
            # only the twins themselves (rewritten per build) may do that.
            if runtime and _twin(name, package.name) and not _twin(me, package.name):
                problems.append("line %d: %s imports the twin %s directly (use wsfast.protocol "
                                "or wsfast._twins.load)" % (line, me, name))
        elif own <= _layer("protocol") and top in NO_IO:
            problems.append("line %d: %s layer imports %s" % (line, LAYERS[own][0], top))
    return problems


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    problems = _problems(path)
    assert not problems, "\n".join(problems)


# What reaches a protocol connection in a driver: its attribute on the
# driver's objects, a name it is bound to, or a Connection class called.
_CONNECTION_ATTRS = {"conn", "_conn"}
_CONNECTION_CLASS = re.compile(r"^(Server|Client)?Connection$")


def _callee(node):
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_connection(node, held):
    if isinstance(node, ast.Name):
        return node.id in held
    if isinstance(node, ast.Attribute):
        return node.attr in _CONNECTION_ATTRS
    if isinstance(node, ast.Call):
        return bool(_CONNECTION_CLASS.match(_callee(node)))
    return False


def _connection_names(tree):
    """The names a module binds to a connection: ``conn`` by convention,
    those assigned one, and parameters annotated as one."""
    held = {"conn"}
    for _ in range(3):  # aliases of aliases
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _is_connection(node.value, held):
                held.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and node.value is not None \
                    and _is_connection(node.value, held) and isinstance(node.target, ast.Name):
                held.add(node.target.id)
            elif isinstance(node, ast.arg) and node.annotation is not None \
                    and _CONNECTION_CLASS.match(ast.unparse(node.annotation).strip("'\"").split(".")[-1]):
                held.add(node.arg)
    return held


def _private_connection_uses(paths):
    """Private names (``_x``) read or set on a protocol connection."""
    found = []
    for p in paths:
        text = p.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, str(p))
        held = _connection_names(tree)
        hits = sorted({node.lineno for node in ast.walk(tree)
                       if isinstance(node, ast.Attribute) and node.attr.startswith("_")
                       and not node.attr.startswith("__") and _is_connection(node.value, held)})
        found += ["%s:%d: %s" % (p.name, line, lines[line - 1].strip()) for line in hits]
    return found


@pytest.mark.parametrize("unit", DRIVERS)
def test_drivers_use_only_public_connection_names(unit):
    paths = sorted((PACKAGE / unit).rglob("*.py"))
    assert paths, unit
    found = _private_connection_uses(paths)
    assert not found, "\n".join(found)


def test_only_the_codec_includes_the_c_core_and_the_core_has_no_python_h():
    for path in (ROOT / "csrc").iterdir():
        if path.suffix in (".c", ".h"):
            assert "Python.h" not in path.read_text(), path.name
    core_headers = {p.name for p in (ROOT / "csrc").glob("*.h")}
    includers = sorted(p for p in PACKAGE.rglob("*")
                       if p.suffix in (".pyx", ".pxd", ".pxi", ".py")
                       and set(re.findall(r'(?:cdef extern from|#include) *[<"]([^">]+)[">]',
                                          p.read_text())) & core_headers)
    assert includers, "the codec's bridge (codec/_csrc.pxd) should include csrc/wsfast.h"
    outside = [str(p.relative_to(PACKAGE)) for p in includers
               if p.relative_to(PACKAGE).parts[0] != "codec"]
    assert not outside, outside


def test_the_rules_catch_a_violation(tmp_path):
    # The checker itself, on a small package laid out like wsfast.
    package = tmp_path / "wsfast"
    for folder in ("protocol", "server", "asyncio", "shared"):
        (package / folder).mkdir(parents=True)
    bad = package / "protocol" / "connection.py"
    bad.write_text("import socket\nfrom ..server import Server\nfrom . import events\n")
    problems = _problems(bad, package)
    assert len(problems) == 2, problems
    assert "imports socket" in problems[0] and "imports wsfast.server" in problems[1]
    driver = package / "server" / "server.py"
    driver.write_text("from ..asyncio import serve\nfrom ..shared import backpressure\n"
                      "from ..protocol.connection import Connection\n"
                      "if TYPE_CHECKING:\n    from ..protocol.http import Request\n")
    assert _problems(driver, package) == [
        "line 1: driver server imports driver asyncio",
        "line 3: wsfast.server.server imports the twin wsfast.protocol.connection directly "
        "(use wsfast.protocol or wsfast._twins.load)"]
    (package / "asgi").mkdir()
    machine = package / "asgi" / "state.py"
    machine.write_text("import asyncio\nfrom uvicorn.protocols.utils import ClientDisconnected\n"
                       "from ..shared import backpressure\n")
    assert _problems(machine, package) == ["line 1: sans-I/O wsfast.asgi.state imports asyncio",
                                           "line 2: sans-I/O wsfast.asgi.state imports uvicorn"]
    twin = package / "server" / "loop.py"
    twin.write_text("from .websocket import run_io\n")  # a twin importing a twin: allowed
    assert _problems(twin, package) == []
    facade = package / "protocol" / "codec_user.py"
    (package / "codec").mkdir()
    facade.write_text("from .. import FrameParser\nfrom .. import codec\nfrom ..codec import backend\n")
    assert _problems(facade, package) == ["line 1 imports FrameParser from the package facade"]
    peeking = package / "server" / "peek.py"
    peeking.write_text(
        "def f(conn):\n    return conn._backlog\n"                      # 2: by its usual name
        "def g(ws):\n    return ws.conn._parser\n"                      # 4: reached via .conn
        "def h(self):\n    c = self._conn\n    c._impl = None\n"       # 7: an alias, set
        "def i(x: 'ServerConnection'):\n    return x._state\n"         # 9: annotated
        "def j():\n    return ServerConnection()._pending\n"           # 11: made here
        "def k(ws):\n    return ws._transport, ws.conn.ready_state, ws.conn.__class__\n")
    assert [hit.split(":")[1] for hit in _private_connection_uses([peeking])] == [
        "2", "4", "7", "9", "11"]
