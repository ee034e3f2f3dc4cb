"""``python -m wsfast.wsproto MODULE [ARGS...]``: run MODULE as ``python -m
MODULE ARGS...`` would, with ``import wsproto`` giving the drop-in, in this
process and in the worker processes it spawns.

    python -m wsfast.wsproto hypercorn app:app --bind 127.0.0.1:8000

Importing this module installs the drop-in. The launcher makes it the
process's ``__main__`` while MODULE runs, because a ``spawn`` child
(hypercorn's workers) first imports the parent's main module by name:
so the child installs the drop-in before it unpickles the worker, which
imports wsproto.
"""

from __future__ import annotations

import runpy
import sys

from . import install

install()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print((__doc__ or "").strip())
        sys.exit(0 if args else 2)
    module = args[0]
    sys.argv = [module] + args[1:]
    sys.modules["__main__"] = sys.modules[__name__]
    runpy.run_module(module, run_name="__main__", alter_sys=False)
