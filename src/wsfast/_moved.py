"""Keeps the import paths of modules that moved to a layer's folder.

A shim at an old path (``wsfast/events.py``) calls ``alias`` so that the
old name is the moved module itself, not a copy: the same classes,
and a patch through one name is seen through the other.
"""

from __future__ import annotations

import importlib
import sys

from ._twins import TWINS, load


def alias(old: str, new: str) -> None:
    """Make module ``old`` the module ``new`` (the build in use, for a twin)."""
    sys.modules[old] = load(new) if new in TWINS else importlib.import_module(new)
