"""``python -m wsfast``: the command line (see wsfast.cli)."""

from .cli import main

raise SystemExit(main())
