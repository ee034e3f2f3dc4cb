"""UTF-8 validation through csrc/utf8.c: one-shot and incremental."""

from ._buffers import view
from ._ffi import ffi, lib

_VALID = lib.WSF_UTF8_VALID
_INVALID = lib.WSF_UTF8_INVALID


def validate_utf8(data):
    """True if ``data`` is complete, valid UTF-8."""
    d = view(data)
    return lib.wsf_utf8_valid(d, len(d)) == 1


class Utf8Validator:
    """Validates UTF-8 fed in pieces; ``feed`` returns False once invalid."""

    __slots__ = ("_st", "_last")

    def __init__(self):
        self._st = ffi.new("wsf_utf8 *")  # zeroed: at a code point boundary
        self._last = _VALID

    def reset(self):
        lib.wsf_utf8_reset(self._st)
        self._last = _VALID

    @property
    def complete(self):
        """True when everything fed so far is valid and no sequence is open."""
        return self._last == _VALID

    @property
    def valid(self):
        """False once the bytes fed can no longer become valid UTF-8."""
        return self._last != _INVALID

    def feed(self, data):
        d = view(data)
        if self._last != _INVALID and len(d):
            self._last = lib.wsf_utf8_feed(self._st, d, len(d))
        return self._last != _INVALID
