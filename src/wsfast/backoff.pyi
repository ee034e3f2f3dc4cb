# The public path of wsfast.shared.backoff (see wsfast/_moved.py), for type checkers.
from .shared.backoff import *
