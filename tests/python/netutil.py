"""Helpers for the tests that use real sockets (loopback only): a
self-signed certificate made at test time, an asyncio server running in a
background thread for the blocking client, and test payloads."""

import asyncio
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import threading
import time

import pytest


def make_cert(directory):
    """(certfile, keyfile) for localhost and 127.0.0.1; skips the test when
    neither the cryptography package nor the openssl command is there."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        x509 = None
    if x509 is not None:
        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(private, hashes.SHA256())
        )
        with open(cert, "wb") as f:
            f.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(key, "wb") as f:
            f.write(
                private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return cert, key
    if shutil.which("openssl") is None:
        pytest.skip("neither cryptography nor openssl is available")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


def tls_contexts(directory):
    """(server context, client context trusting only the test certificate)."""
    cert, key = make_cert(directory)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=cert)
    return server, client


class ThreadServer:
    """Runs ``await start()`` (returning an object with ``close()`` and
    ``wait_closed()`` and a ``sockets`` list) on an event loop in a
    background thread; ``port`` is its listening port."""

    def __init__(self, start):
        self._start = start
        self._ready = threading.Event()
        self._error = None
        self.port = None
        self.server = None
        self.loop = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        if self._error is not None:
            raise self._error
        return self

    def _run(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                self.server = await self._start()
                self.port = list(self.server.sockets)[0].getsockname()[1]
            except Exception as exc:  # reported to the test thread
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
            self.server.close()
            await asyncio.wait_for(self.server.wait_closed(), 10)

        asyncio.run(main())

    def call(self, coro, timeout=10):
        """Run a coroutine on the server's loop; returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc):
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        self._thread.join(15)
        assert not self._thread.is_alive(), "server thread did not stop"


def wait_listeners(port, count, timeout=20):
    """Until ``count`` sockets listen on 127.0.0.1:``port`` (the workers of
    a reuse_port server each listen on their own; a connection made before
    one of them is there never reaches it). Without /proc/net/tcp, returns."""
    if not os.path.exists("/proc/net/tcp"):
        return
    deadline = time.monotonic() + timeout
    while True:
        with open("/proc/net/tcp") as f:
            found = sum(1 for line in f.readlines()[1:]
                        if line.split()[1] == "0100007F:%04X" % port and line.split()[3] == "0A")
        if found >= count:
            return
        assert time.monotonic() < deadline, "%d of %d workers listen" % (found, count)
        time.sleep(0.05)


SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]


def payloads(size):
    """A text and a binary message of ``size`` bytes, half compressible."""
    raw = os.urandom(size // 4).hex()[: size // 2] + "ab" * size
    text = raw[:size]
    binary = os.urandom(size // 2) + b"\x00" * (size - size // 2)
    return text, binary
