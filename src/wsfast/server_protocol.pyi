# The old path of wsfast.protocol.server_connection (see wsfast/_moved.py), for type checkers.
from .protocol.server_connection import *
