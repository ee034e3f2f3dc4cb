"""Chooses the codec: the C backend (Cython bridge), cffi, or pure Python.

WSFAST_BACKEND=c|cffi|python asks for one, and an unbuilt one is then an
error; WSFAST_NO_EXTENSIONS=1 means "python" (and also switches the
compiled twins, see ``wsfast._twins``). Otherwise the first one built of
``c, cffi, python`` on CPython, ``cffi, c, python`` on PyPy, where a
Cython extension runs through the slow C-API emulation and cffi is the
native path to C.
"""

from __future__ import annotations

import importlib
import os
import platform
from types import ModuleType
from typing import TYPE_CHECKING

from .._twins import extensions_disabled

#: Each backend's name and the module that implements it.
BACKENDS = {"c": "._core", "cffi": "._cffi", "python": "._python"}
#: The order tried when nothing is asked for, per interpreter.
DEFAULT_ORDER = ("cffi", "c", "python") if platform.python_implementation() == "PyPy" \
    else ("c", "cffi", "python")


def requested() -> str | None:
    """The backend the environment asks for, or None to take the default."""
    if extensions_disabled():
        return "python"
    name = os.environ.get("WSFAST_BACKEND", "").strip().lower()
    if not name:
        return None
    if name not in BACKENDS:
        raise ValueError("WSFAST_BACKEND must be one of %s, not %r"
                         % (", ".join(BACKENDS), name))
    return name


def load(name: str) -> ModuleType:
    """The module of backend ``name``; ImportError when it is not built."""
    return importlib.import_module(BACKENDS[name], __package__)


def choose() -> ModuleType:
    """The backend module in use: the one asked for, else the default order."""
    name = requested()
    if name is not None:
        try:
            return load(name)
        except ImportError as exc:
            raise ImportError("WSFAST_BACKEND=%s, but that backend is not built "
                              "for this interpreter (%s)" % (name, exc)) from exc
    for name in DEFAULT_ORDER:
        try:
            return load(name)
        except ImportError:  # not built for this interpreter or platform
            continue
    raise ImportError("no codec backend")  # unreachable: _python always imports


if TYPE_CHECKING:
    # Every backend has the same names and signatures (``_core.pyi``), so
    # type checkers see the compiled one whichever is picked at run time.
    from . import _core as impl

    __all__ = ["backend", "impl"]
else:
    impl = choose()

#: The codec in use: "c" (Cython), "cffi" or "python" (also ``wsfast.backend``).
backend: str = impl.BACKEND
