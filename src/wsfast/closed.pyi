# The old path of wsfast.protocol.closed (see wsfast/_moved.py), for type checkers.
from .protocol.closed import *
