"""Every public name has a place in the API reference.

The first test reads the ``:::`` directives of docs/api/*.md (nothing is
built): each public name must be the target of one, or a member of a
module that is. The second builds the site and reads its inventory
(objects.inv), which lists only what was rendered: it catches a name a
directive names but the generator leaves out (a constant without a
``#:`` comment, a function without a docstring). It needs mkdocs and
its plugins (in the test and docs extras); under CI their absence is a
failure, not a skip.
"""

import ast
import glob
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import types
import zlib

import pytest

from wsfast._twins import COMPILED_SUFFIX, TWINS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API_DOCS = os.path.join(ROOT, "docs", "api")

# The modules a user imports. wsfast.codec is left out: its names are
# re-exported, and documented, at the top level.
PUBLIC_MODULES = (
    "wsfast", "wsfast.server", "wsfast.client", "wsfast.asyncio", "wsfast.backoff",
    "wsfast.errors", "wsfast.closed", "wsfast.events", "wsfast.handshake", "wsfast.uri",
    "wsfast.topics", "wsfast.prepared", "wsfast.uvicorn", "wsfast.constants",
    "wsfast.server_protocol", "wsfast.client_protocol", "wsfast.extensions", "wsfast.http",
    "wsfast.backpressure", "wsfast.bus", "wsfast.wsproto", "wsfast.protocol",
)


def _source_file(module):
    """The .py file of ``module``, also when the compiled twin is in use."""
    origin = importlib.util.find_spec(_plain(module.__name__)).origin
    return origin if origin and origin.endswith(".py") else None


def public_names(module):
    """``__all__``, or else what the module itself defines without a
    leading underscore (not what it imports)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    assigned = set()
    path = _source_file(module)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Name):
                        assigned.add(t.id)
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
            if _plain(value.__module__) == _plain(module.__name__):
                names.append(name)
        elif name in assigned:
            names.append(name)
    return names


def resolve(path):
    """The object a dotted path names, or a marker when it names nothing."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return resolve
            obj = getattr(obj, attr)
        return obj
    return resolve


# The codec's names are documented once, from the pure-Python fallback,
# whatever backend is in use (docs/api/codec.md says so).
FALLBACK = "wsfast.codec._python."


def _plain(module_name):
    if module_name.endswith(COMPILED_SUFFIX) and module_name[: -len(COMPILED_SUFFIX)] in TWINS:
        return module_name[: -len(COMPILED_SUFFIX)]
    return module_name


def same(documented_obj, value):
    """The same object, the same constant, or the two builds of one
    function or class (a compiled twin's and its source's)."""
    if documented_obj is value:
        return True
    if callable(value) and hasattr(value, "__qualname__"):
        return (getattr(documented_obj, "__qualname__", None) == value.__qualname__ and
                _plain(getattr(documented_obj, "__module__", "")) == _plain(value.__module__))
    return type(documented_obj) is type(value) and documented_obj == value


def documented(paths):
    """{last component: [objects]} of every path."""
    found = {}
    for path in paths:
        found.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    return found


def uncovered(paths):
    by_name = documented(paths)
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                if not any(p == value.__name__ or p.startswith(value.__name__ + ".") or
                           resolve(p) is value for p in paths):
                    missing.append("%s.%s" % (module_name, name))
                continue
            if not any(p.startswith(FALLBACK) or same(resolve(p), value)
                       for p in by_name.get(name, ())):
                missing.append("%s.%s" % (module_name, name))
    return missing


def directive_paths():
    """The paths the reference renders: each ``::: target``, and for a
    module target each member it shows (its ``members:`` list, or all its
    public names)."""
    paths = set()
    for page in sorted(glob.glob(os.path.join(API_DOCS, "*.md"))):
        with open(page, encoding="utf-8") as f:
            text = f.read()
        for match in re.finditer(r"^::: *(\S+)\n((?:[ \t]+\S.*\n?)*)", text, re.M):
            target, options = match.group(1), match.group(2)
            paths.add(target)
            obj = resolve(target)
            assert obj is not resolve, "%s: ::: %s names nothing" % (os.path.basename(page), target)
            listed = re.search(r"^\s+members:\s*(\[[^\]]*\]|\S+)", options, re.M)
            if not isinstance(obj, types.ModuleType):
                continue
            if listed is None:
                members = public_names(obj)
            elif listed.group(1).startswith("["):
                members = [m.strip() for m in listed.group(1).strip("[]").split(",") if m.strip()]
            else:
                members = []  # members: false
            for member in members:
                assert hasattr(obj, member), "%s: %s has no %s" % (os.path.basename(page), target, member)
                paths.add("%s.%s" % (target, member))
    return paths


def test_the_reference_pages_name_every_public_name():
    paths = directive_paths()
    assert len(paths) > 100
    assert uncovered(paths) == []


def _inventory(site):
    with open(os.path.join(site, "objects.inv"), "rb") as f:
        data = f.read()
    start = 0
    for _ in range(4):  # the four header lines of a Sphinx inventory, version 2
        start = data.index(b"\n", start) + 1
    return {line.split()[0] for line in zlib.decompress(data[start:]).decode().splitlines() if line.strip()}


def test_the_built_reference_renders_every_public_name(tmp_path):
    missing = [m for m in ("mkdocs", "mkdocstrings_handlers.python", "griffe_sphinx")
               if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must install %s (the test extra) for this test" % ", ".join(missing))
        pytest.skip("needs %s (the docs extra)" % ", ".join(missing))
    site = str(tmp_path / "site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    inventory = _inventory(site)
    assert "wsfast.constants.CLOSE_NORMAL" in inventory
    assert uncovered(inventory) == []
