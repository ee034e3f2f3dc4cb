"""Strict, incremental, fail-fast UTF-8 validation in pure Python.

CPython's own decoder does the bulk work; a small DFA handles sequences
split across calls, because the incremental decoder reports a surrogate
prefix such as ED A0 as "partial" where RFC 6455 peers must fail at once.
"""

# (bytes still needed, lowest and highest allowed next byte) per lead byte.
_LEAD = {}
for _b in range(0xC2, 0xE0):
    _LEAD[_b] = (1, 0x80, 0xBF)
_LEAD[0xE0] = (2, 0xA0, 0xBF)
for _b in list(range(0xE1, 0xED)) + [0xEE, 0xEF]:
    _LEAD[_b] = (2, 0x80, 0xBF)
_LEAD[0xED] = (2, 0x80, 0x9F)
_LEAD[0xF0] = (3, 0x90, 0xBF)
for _b in range(0xF1, 0xF4):
    _LEAD[_b] = (3, 0x80, 0xBF)
_LEAD[0xF4] = (3, 0x80, 0x8F)

_BOUNDARY = None
_INVALID = (-1, 0, 0)


def _step(state, data):
    """Run the DFA over ``data`` from ``state``; return the new state."""
    for b in data:
        if state is _BOUNDARY:
            if b < 0x80:
                continue
            state = _LEAD.get(b, _INVALID)
            if state is _INVALID:
                return _INVALID
        else:
            need, lo, hi = state
            if not lo <= b <= hi:
                return _INVALID
            state = _BOUNDARY if need == 1 else (need - 1, 0x80, 0xBF)
    return state


class Utf8Validator:
    """Validates UTF-8 fed in pieces; ``feed`` returns False once invalid."""

    __slots__ = ("_state",)

    def __init__(self):
        self._state = _BOUNDARY

    def reset(self):
        self._state = _BOUNDARY

    @property
    def complete(self):
        """True when everything fed so far is valid and no sequence is open."""
        return self._state is _BOUNDARY

    @property
    def valid(self):
        """False once the bytes fed can no longer become valid UTF-8."""
        return self._state is not _INVALID

    def feed(self, data):
        state = self._state
        if state is _INVALID:
            return False
        data = bytes(data)
        if state is not _BOUNDARY:
            # Finish the open sequence byte by byte (at most 3 bytes).
            i = 0
            while state is not _BOUNDARY and i < len(data):
                state = _step(state, data[i : i + 1])
                i += 1
                if state is _INVALID:
                    self._state = state
                    return False
            data = data[i:]
        if state is _BOUNDARY and data:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                if e.reason != "unexpected end of data":
                    self._state = _INVALID
                    return False
                # A valid prefix, then an unfinished sequence at the end.
                state = _step(_BOUNDARY, data[e.start :])
        self._state = state
        return state is not _INVALID


def validate_utf8(data):
    """True if ``data`` is complete, valid UTF-8."""
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
