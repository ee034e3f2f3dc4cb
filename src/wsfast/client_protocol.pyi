# The old path of wsfast.protocol.client_connection (see wsfast/_moved.py), for type checkers.
from .protocol.client_connection import *
