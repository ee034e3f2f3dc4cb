# The old path of wsfast.protocol.extensions (see wsfast/_moved.py), for type checkers.
from .protocol.extensions import *
