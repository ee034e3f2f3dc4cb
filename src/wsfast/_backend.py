"""Chooses the C backend, or the pure-Python one.

WSFAST_NO_EXTENSIONS=1 forces Python; a missing extension falls back to it.
"""

import os

_impl = None
if not os.environ.get("WSFAST_NO_EXTENSIONS"):
    try:
        from . import _core as _impl
    except ImportError:  # not built for this interpreter or platform
        _impl = None
if _impl is None:
    from . import _python as _impl

impl = _impl
backend = _impl.BACKEND
