# The old path of wsfast.protocol.events (see wsfast/_moved.py), for type checkers.
from .protocol.events import *
