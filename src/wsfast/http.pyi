# The old path of wsfast.protocol.http (see wsfast/_moved.py), for type checkers.
from .protocol.http import *
