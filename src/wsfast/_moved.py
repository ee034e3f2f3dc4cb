"""Keeps the import paths of modules that moved to a layer's folder.

``import wsfast.events`` gives the module ``wsfast.protocol.events``
itself (the build in use, for a compiled twin), not a copy: the same
classes, and a patch through one name is seen through the other. No
file stands at the old paths, so they cannot drift from the new ones;
``<old>.pyi`` stubs tell type checkers the same.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from ._twins import TWINS, load

MOVED = {
    "wsfast.events": "wsfast.protocol.events",
    "wsfast.closed": "wsfast.protocol.closed",
    "wsfast.uri": "wsfast.protocol.uri",
    "wsfast.extensions": "wsfast.protocol.extensions",
    "wsfast.handshake": "wsfast.protocol.handshake",
    "wsfast.http": "wsfast.protocol.http",
    "wsfast.server_protocol": "wsfast.protocol.server_connection",
    "wsfast.client_protocol": "wsfast.protocol.client_connection",
    "wsfast.prepared": "wsfast.codec.prepared",
    "wsfast.backpressure": "wsfast.shared.backpressure",
    "wsfast.topics": "wsfast.shared.topics",
    "wsfast.client": "wsfast.sync.client",
    "wsfast.uvicorn": "wsfast.asgi.uvicorn",
    # Public names that live in a layer folder.
    "wsfast.backoff": "wsfast.shared.backoff",
}


def moved_to(old: str) -> ModuleType:
    """The module an old path names now (the build in use, for a twin)."""
    new = MOVED[old]
    return load(new) if new in TWINS else importlib.import_module(new)


class _MovedLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = moved_to(spec.name)
        self._spec = module.__spec__  # the import system overwrites it next
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # already run: restore its own spec


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths in MOVED, and nothing else."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader())


def install() -> None:
    if not any(isinstance(finder, MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
