# The extension cffi generates from _cffi_build.py: its FFI object and the
# library of csrc/ functions and constants declared there.
from typing import Any

ffi: Any
lib: Any
