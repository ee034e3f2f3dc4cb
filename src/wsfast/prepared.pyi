# The old path of wsfast.codec.prepared (see wsfast/_moved.py), for type checkers.
from .codec.prepared import *
