# The old path of wsfast.asgi.uvicorn (see wsfast/_moved.py), for type checkers.
from .asgi.uvicorn import *
