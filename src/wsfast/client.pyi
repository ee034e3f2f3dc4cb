# The old path of wsfast.sync.client (see wsfast/_moved.py), for type checkers.
from .sync.client import *
