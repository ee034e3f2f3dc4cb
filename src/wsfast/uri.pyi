# The old path of wsfast.protocol.uri (see wsfast/_moved.py), for type checkers.
from .protocol.uri import *
