"""HTTP grammar the protocol's modules share, outside the compiled twins
so that every build and every module uses the one copy."""

import re

#: An HTTP token (RFC 9110 5.6.2): header names, subprotocols, extension
#: names and parameters. The one copy; match it whole with fullmatch.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
