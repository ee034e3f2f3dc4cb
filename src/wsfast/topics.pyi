# The old path of wsfast.shared.topics (see wsfast/_moved.py), for type checkers.
from .shared.topics import *
