# The old path of wsfast.shared.backpressure (see wsfast/_moved.py), for type checkers.
from .shared.backpressure import *
