"""``python -m wsfast.wsproto MODULE [ARGS...]``: run MODULE as ``python -m
MODULE ARGS...`` would, with ``import wsproto`` giving the drop-in.

    python -m wsfast.wsproto hypercorn app:app --bind 127.0.0.1:8000
"""

from __future__ import annotations

import runpy
import sys

from . import install


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    module = sys.argv[1]
    install()
    sys.argv = [module] + sys.argv[2:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
