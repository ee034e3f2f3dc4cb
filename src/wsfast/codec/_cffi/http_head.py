"""The handshake's request head through cffi: csrc/http_head.c's strict
fast path and csrc/accept_key.c, with the C backend's names and results
(``codec/_http_head.pxi``). Declines fall back to the general parser."""

import binascii
import hashlib

from ._buffers import output, to_bytes, view
from ._ffi import ffi, lib

UPGRADE_WEBSOCKET = lib.WSF_UPGRADE_WEBSOCKET
UPGRADE_VALID = lib.WSF_UPGRADE_VALID
UPGRADE_OFFERS = lib.WSF_UPGRADE_OFFERS

# Header lines the fast path takes; a head with more goes the general way.
_FAST_HEAD_FIELDS = 128
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def parse_request_head(data, max_head_size, max_headers, fields=True):
    """``(target, fields, head_len, upgrade, key)`` for a whole request head
    at the start of ``data`` in the strict subset, else None; with
    ``fields`` false, target and fields are None (see the C backend's
    docstring)."""
    if max_head_size < 0 or max_headers < 0:
        return None
    lines = ffi.new("wsf_head_field[]", _FAST_HEAD_FIELDS)
    head = ffi.new("wsf_request_head *")
    buf = view(data)
    rc = lib.wsf_parse_request_head(buf, len(data) if not isinstance(data, memoryview) else data.nbytes,
                                    max_head_size, lines, min(max_headers, _FAST_HEAD_FIELDS), head)
    if rc != lib.WSF_HEAD_DONE:
        return None
    lib.wsf_check_upgrade(buf, lines, head)
    raw = bytes(data[:head.head_len])
    if not fields:
        key = None
        if head.upgrade & lib.WSF_UPGRADE_VALID:
            f = lines[head.key]
            key = raw[f.value:f.value + f.value_len].decode("latin-1")
        return None, None, head.head_len, head.upgrade, key
    items = []
    for i in range(head.nfields):
        f = lines[i]
        items.append(raw[f.name:f.name + f.name_len].decode("latin-1"))
        items.append(raw[f.value:f.value + f.value_len].decode("latin-1"))
    items = tuple(items)
    target = raw[head.target:head.target + head.target_len].decode("latin-1")
    key = items[2 * head.key + 1] if head.upgrade & lib.WSF_UPGRADE_VALID else None
    return target, items, head.head_len, head.upgrade, key


def websocket_accept(key):
    """Sec-WebSocket-Accept (bytes) for a Sec-WebSocket-Key (str, bytes)."""
    if isinstance(key, str):
        key = key.encode("ascii")
    key = bytes(key)
    out = output(lib.WSF_ACCEPT_LEN)
    if lib.wsf_accept_key(view(key), len(key), out) == 0:
        return to_bytes(out, lib.WSF_ACCEPT_LEN)
    # Keys the C buffer does not take (never valid, but the name is public).
    return binascii.b2a_base64(hashlib.sha1(key + _GUID).digest(), newline=False)
