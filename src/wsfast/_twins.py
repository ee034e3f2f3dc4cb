"""The modules built twice, and the one place that picks a build.

Each module listed here is plain Python (``connection.py``) and, when the
C extension is built, also compiled from the same source as a twin named
``<module>_c`` (``connection_c``), with the C types of ``<module>_c.pxd``.
Both builds import side by side; ``load`` picks the compiled one unless
WSFAST_NO_EXTENSIONS is set or it was not built. setup.py, the tests and
CI read the list from here.

The modules in ``HELPERS`` are compiled only, with no pure twin (the
server's system calls, the wsproto drop-in's message fields);
``optional_extension`` gives one, or None, and its callers fall back to
the standard library or to plain Python. The same switch governs
both, so WSFAST_NO_EXTENSIONS=1 runs no compiled code of the package.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# Per message first, then per handshake. A twin imports the other twins
# under their compiled names (setup.py rewrites those imports in the copy
# it compiles), so each build is whole.
TWINS = (
    "wsfast.codec.prepared",
    "wsfast.protocol.connection",
    "wsfast.server.websocket",
    "wsfast.server.loop",
    "wsfast.server.lifecycle",
    "wsfast.protocol.http",
    "wsfast.protocol.handshake",
    "wsfast.protocol.server_connection",
    "wsfast.protocol.client_connection",
    "wsfast.wsproto._connection",
)
#: Compiled-only modules: used when built and not disabled, else None.
HELPERS = ("wsfast.server._syscalls", "wsfast.wsproto._records")
COMPILED_SUFFIX = "_c"
_TAILS = frozenset(name.partition(".")[2] for name in TWINS)


def extensions_disabled() -> bool:
    """WSFAST_NO_EXTENSIONS=1 (any non-empty value): pure Python everywhere."""
    return bool(os.environ.get("WSFAST_NO_EXTENSIONS"))


def compiled(name: str) -> ModuleType | None:
    """The compiled twin of ``name``, or None when it was not built."""
    try:
        return importlib.import_module(name + COMPILED_SUFFIX)
    except ImportError:  # not built for this interpreter or platform
        return None


def load(name: str) -> ModuleType:
    """The build of twin ``name`` in use: compiled when there is one."""
    # Compared without the top package, so that a copy of the package
    # under another name (the fuzzer's pure-Python oracle) chooses alike.
    if name.partition(".")[2] not in _TAILS:
        raise ValueError("%s is not a compiled twin (see wsfast._twins.TWINS)" % name)
    module = None if extensions_disabled() else compiled(name)
    return module if module is not None else importlib.import_module(name)


def optional_extension(name: str) -> ModuleType | None:
    """Compiled-only module ``name`` (one of ``HELPERS``), or None when
    extensions are disabled or it was not built."""
    if name not in HELPERS:
        raise ValueError("%s is not a compiled helper (see wsfast._twins.HELPERS)" % name)
    if extensions_disabled():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # not built for this interpreter or platform
        return None
