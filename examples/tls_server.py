"""A wss:// server: TLS on wsfast's own loop. Make a self-signed
certificate for a local try (browsers will warn about it):

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \\
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \\
        -keyout key.pem -out cert.pem
    python examples/tls_server.py --port 8443 --cert cert.pem --key key.pem
"""

import argparse
import ssl

from wsfast.server import Server

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8443)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
args = parser.parse_args()

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(args.cert, args.key)
server = Server(args.host, args.port, ssl=context)


@server.on("message")
def echo(ws, message):
    ws.send(message)


server.listen()  # bind now, to print the port
print("listening on wss://%s:%d/" % (args.host, server.port), flush=True)
server.run()
