# The old path of wsfast.protocol.handshake (see wsfast/_moved.py), for type checkers.
from .protocol.handshake import *
