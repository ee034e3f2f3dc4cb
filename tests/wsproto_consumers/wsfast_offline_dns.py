"""pytest plugin: host names resolve to 127.0.0.1, so upstream suites whose
clients connect to a mocked socket at a public name (simple-websocket's
client tests use example.com) run without a resolver. IP literals and
``localhost`` resolve as usual."""

import ipaddress
import socket

_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name and name != "localhost":
        try:
            ipaddress.ip_address(name)
        except ValueError:
            host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo
