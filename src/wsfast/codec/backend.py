"""Chooses the C backend, or the pure-Python one.

WSFAST_NO_EXTENSIONS=1 forces Python; a missing extension falls back to it.
"""

from typing import TYPE_CHECKING

from .._twins import extensions_disabled

if TYPE_CHECKING:
    # Both backends have the same names and signatures (``_core.pyi``), so
    # type checkers see the compiled one whichever is picked at run time.
    from . import _core as impl

    __all__ = ["backend", "impl"]
else:
    _impl = None
    if not extensions_disabled():
        try:
            from . import _core as _impl
        except ImportError:  # not built for this interpreter or platform
            _impl = None
    if _impl is None:
        from . import _python as _impl
    impl = _impl

backend: str = impl.BACKEND
