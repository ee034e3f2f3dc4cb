"""``python -m wsfast.wsproto MODULE [ARGS...]``: see ``launch``."""

from .launch import main

main()
