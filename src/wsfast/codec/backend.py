"""Chooses the C backend, or the pure-Python one.

WSFAST_NO_EXTENSIONS=1 forces Python; a missing extension falls back to it.
"""

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Both backends have the same names and signatures (``_core.pyi``), so
    # type checkers see the compiled one whichever is picked at run time.
    from . import _core as impl

    __all__ = ["backend", "impl"]
else:
    _impl = None
    if not os.environ.get("WSFAST_NO_EXTENSIONS"):
        try:
            from . import _core as _impl
        except ImportError:  # not built for this interpreter or platform
            _impl = None
    if _impl is None:
        from . import _python as _impl
    impl = _impl

backend: str = impl.BACKEND
