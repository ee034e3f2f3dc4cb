"""Sec-WebSocket-Extensions parsing, permessage-deflate negotiation."""

import itertools
import os
import random
import zlib

import pytest

from wsfast.errors import HandshakeError, InvalidResponse
from wsfast.extensions import (
    DEFAULT_CLIENT_MAX_WINDOW_BITS,
    DEFAULT_MEM_LEVEL,
    DEFAULT_OFFER,
    DEFAULT_SERVER_MAX_WINDOW_BITS,
    DEFAULT_WINDOW_BITS,
    DeflateParams,
    accept_deflate_response,
    deflate_offer,
    negotiate_deflate,
    parse_extensions,
)

PMD = "permessage-deflate"


def negotiate(*header_values, **config):
    return negotiate_deflate(parse_extensions(list(header_values)), **config)


# Parsing


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], []),
        ([""], []),
        (["permessage-deflate"], [(PMD, [])]),
        (
            ["permessage-deflate; client_max_window_bits; server_max_window_bits=10"],
            [(PMD, [("client_max_window_bits", None), ("server_max_window_bits", "10")])],
        ),
        (
            ["permessage-deflate; server_no_context_takeover, permessage-deflate", "x-foo"],
            [(PMD, [("server_no_context_takeover", None)]), (PMD, []), ("x-foo", [])],
        ),
        (
            ["  a ;  b = 1 ;c\t,\td  "],
            [("a", [("b", "1"), ("c", None)]), ("d", [])],
        ),
        ([', a ,, b ,'], [("a", []), ("b", [])]),
        (['a; b="10"'], [("a", [("b", "10")])]),
        (['a; b="1\\0"'], [("a", [("b", "10")])]),  # quoted-pair
        (['a; b="x-y.z"; c=d'], [("a", [("b", "x-y.z"), ("c", "d")])]),
    ],
)
def test_parse_extensions(values, expected):
    assert parse_extensions(values) == expected


@pytest.mark.parametrize(
    "value",
    [
        "a;",
        ";a",
        "a b",
        "a; b=",
        "a; =1",
        "a; b=1 c",
        "a; b==1",
        "a; b=@",
        'a; b="1 0"',  # unquoted value is not a token
        'a; b=""',
        'a; b="10',
        'a; b="x"y',
        '"a"',
        "a, ;b",
        "a/b",
        "a;; b",
    ],
)
def test_parse_extensions_malformed(value):
    with pytest.raises(HandshakeError) as info:
        parse_extensions(["permessage-deflate", value])
    assert info.value.status == 400
    assert "Sec-WebSocket-Extensions" in info.value.reason


# DeflateParams


def test_params_header_value():
    assert DeflateParams().header_value() == PMD
    assert DEFAULT_OFFER.header_value() == "permessage-deflate; client_max_window_bits"
    assert deflate_offer() == "permessage-deflate; client_max_window_bits"
    params = DeflateParams(True, True, 10, 11)
    assert params.header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=11"
    )
    assert deflate_offer(params) == params.header_value()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 7},
        {"server_max_window_bits": 16},
        {"server_max_window_bits": True},
        {"server_max_window_bits": "12"},
        {"client_max_window_bits": 16},
        {"client_max_window_bits": False},
    ],
)
def test_params_validation(kwargs):
    with pytest.raises(ValueError):
        DeflateParams(**kwargs)


def test_params_zlib_settings():
    assert DEFAULT_WINDOW_BITS == 12 and DEFAULT_MEM_LEVEL == 5
    assert DEFAULT_SERVER_MAX_WINDOW_BITS == DEFAULT_CLIENT_MAX_WINDOW_BITS == 12
    params = DeflateParams(True, False, 10, None)
    # Server: compresses within its own announced window; inflates 15.
    assert params.deflate_window_bits(is_server=True) == 10
    assert params.inflate_window_bits(is_server=True) == 15
    assert params.deflate_no_context_takeover(is_server=True)
    assert not params.inflate_no_context_takeover(is_server=True)
    # Client: free to use 15, prefers 12; inflates with the server's 10.
    assert params.deflate_window_bits(is_server=False) == 12
    assert params.deflate_window_bits(is_server=False, preferred=15) == 15
    assert params.inflate_window_bits(is_server=False) == 10
    assert not params.deflate_no_context_takeover(is_server=False)
    assert params.inflate_no_context_takeover(is_server=False)
    # 8 is served with 9, on both sides.
    eight = DeflateParams(server_max_window_bits=8, client_max_window_bits=8)
    for is_server in (True, False):
        assert eight.deflate_window_bits(is_server) == 9
        assert eight.inflate_window_bits(is_server) == 9
    assert DeflateParams(client_max_window_bits=True).deflate_window_bits(False) == 12


def _structured_data(rng, size):
    """Data with back-references at every distance up to a few hundred."""
    base = os.urandom(700)
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.3:
            out += os.urandom(rng.randrange(1, 30))
        else:
            start = rng.randrange(0, 650)
            out += base[start : start + rng.randrange(3, 50)]
    return bytes(out[:size])


def _inflate_bytewise(stream, bits):
    # One input byte per call: zlib then checks match distances against the
    # real window, not against output still in its buffer.
    decompressor = zlib.decompressobj(wbits=-bits)
    pieces = (stream[i : i + 1] for i in range(len(stream)))
    return b"".join(decompressor.decompress(piece) for piece in pieces)


def test_nine_bit_deflate_fits_an_eight_bit_window():
    # The reason a peer limited to 8 bits can be served with 9: zlib's
    # 9-bit compressor never refers more than 250 bytes back.
    with pytest.raises(ValueError):
        zlib.compressobj(wbits=-8)
    rng = random.Random(7)
    for _ in range(10):
        data = _structured_data(rng, 5000)
        for level, strategy in itertools.product(
            (1, 6, 9), (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED)
        ):
            compressor = zlib.compressobj(
                level, zlib.DEFLATED, -9, DEFAULT_MEM_LEVEL, strategy
            )
            stream = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
            assert _inflate_bytewise(stream, 8) == data
        # Control: a 10-bit window does reach beyond 256 bytes.
        compressor = zlib.compressobj(9, zlib.DEFLATED, -10)
        stream = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        with pytest.raises(zlib.error, match="too far back"):
            _inflate_bytewise(stream, 8)


# Server negotiation


def test_browser_offers():
    chromium = negotiate("permessage-deflate; client_max_window_bits")
    assert chromium[0] == (
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
    )
    firefox = negotiate("permessage-deflate")
    assert firefox[0] == "permessage-deflate; server_max_window_bits=12"
    assert firefox[1] == DeflateParams(server_max_window_bits=12)


def test_bare_client_max_window_bits_always_gets_a_value():
    header, params = negotiate(
        "permessage-deflate; client_max_window_bits", client_max_window_bits=None
    )
    assert header.endswith("client_max_window_bits=15")
    assert params.client_max_window_bits == 15
    header, params = negotiate(
        "permessage-deflate; client_max_window_bits", client_max_window_bits=9
    )
    assert header.endswith("client_max_window_bits=9")


def test_no_offer():
    assert negotiate() is None
    assert negotiate("x-webkit-deflate-frame") is None
    assert negotiate("x-webkit-deflate-frame, permessage-deflate; x=1") is None


def test_offers_in_client_order():
    header, params = negotiate(
        "x-webkit-deflate-frame",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    )
    assert params.server_max_window_bits == 10
    header, params = negotiate(
        "permessage-deflate; server_max_window_bits=16",  # declined
        "permessage-deflate; client_no_context_takeover",
    )
    assert params == DeflateParams(
        client_no_context_takeover=True, server_max_window_bits=12
    )


@pytest.mark.parametrize(
    "bad",
    [
        "server_max_window_bits=7",
        "server_max_window_bits=16",
        "server_max_window_bits=abc",
        "server_max_window_bits=0x9",
        'server_max_window_bits="16"',
        'server_max_window_bits="abc"',
        "server_max_window_bits",
        "client_max_window_bits=7",
        "client_max_window_bits=16",
        "client_max_window_bits=100000000000000000000",
        'client_max_window_bits="7"',
        "server_no_context_takeover=1",
        'client_no_context_takeover="x"',
        "server_no_context_takeover; server_no_context_takeover",
        "client_no_context_takeover; client_no_context_takeover",
        "server_max_window_bits=10; server_max_window_bits=10",
        "client_max_window_bits; client_max_window_bits=10",
        "Server_Max_Window_Bits=10; server_max_window_bits=11",
        "x=1",
        "max_window_bits=10",
        "client_max_window_bits=10; mux",
    ],
)
def test_invalid_offer_is_declined(bad):
    assert negotiate("permessage-deflate; " + bad) is None
    header, params = negotiate(
        "permessage-deflate; " + bad, "permessage-deflate; client_max_window_bits=11"
    )
    assert params.client_max_window_bits == 11


@pytest.mark.parametrize(
    "value, bits",
    [("8", 8), ("9", 9), ("15", 15), ('"10"', 10), ("09", 9)],
)
def test_window_bits_values(value, bits):
    header, params = negotiate(
        "permessage-deflate; server_max_window_bits=%s" % value,
        server_max_window_bits=None,
    )
    assert params.server_max_window_bits == bits
    assert header == "permessage-deflate; server_max_window_bits=%d" % bits


def test_eight_bit_request_is_served_with_nine():
    header, params = negotiate(
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    )
    # The reply honours the request; the compressor runs zlib at 9 bits.
    assert header == (
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    )
    assert params.deflate_window_bits(is_server=True) == 9
    assert params.inflate_window_bits(is_server=True) == 9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 7},
        {"server_max_window_bits": 16},
        {"client_max_window_bits": 16},
        {"client_max_window_bits": True},
    ],
)
def test_server_config_validation(kwargs):
    with pytest.raises(ValueError):
        negotiate("permessage-deflate", **kwargs)


# Every combination of the four parameters, with and without values.

OFFER_SMWB = [None, 8, 9, 12, 15]
OFFER_CMWB = [None, True, 8, 9, 12, 15]
OFFERS = [
    DeflateParams(snct, cnct, smwb, cmwb)
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), OFFER_SMWB, OFFER_CMWB
    )
]
CONFIGS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), (None, 8, 10, 12, 15), (None, 8, 10, 12, 15)
    )
]


def quoted(offer):
    """The same offer with every value quoted (equivalent per RFC 6455 §9.1)."""
    parts = offer.header_value().split("; ")
    return "; ".join(
        p.replace("=", '="') + '"' if "=" in p else p for p in parts
    )


@pytest.mark.parametrize("offer", OFFERS, ids=lambda o: o.header_value())
def test_server_negotiation_matrix(offer):
    for config, header in itertools.product(
        CONFIGS, (offer.header_value(), quoted(offer))
    ):
        result = negotiate(header, **config)
        assert result is not None
        reply, agreed = result
        (name, params), = parse_extensions([reply])
        assert name == PMD
        # The client's own checks agree with the server's view.
        assert accept_deflate_response([reply], offer) == agreed

        assert agreed.server_no_context_takeover == (
            offer.server_no_context_takeover or config["server_no_context_takeover"]
        )
        assert agreed.client_no_context_takeover == (
            offer.client_no_context_takeover or config["client_no_context_takeover"]
        )
        own = config["server_max_window_bits"] or 15
        if offer.server_max_window_bits is None:
            expected = own if own < 15 else None
        else:  # never above the client's limit (RFC 7692 §7.1.2.1)
            expected = min(offer.server_max_window_bits, own)
        assert agreed.server_max_window_bits == expected
        wanted = config["client_max_window_bits"] or 15
        if offer.client_max_window_bits is None:  # must not be sent
            assert "client_max_window_bits" not in reply
            assert agreed.client_max_window_bits is None
        elif offer.client_max_window_bits is True:  # must get a value
            assert agreed.client_max_window_bits == wanted
        else:
            assert agreed.client_max_window_bits == min(
                offer.client_max_window_bits, wanted
            )
        assert 9 <= agreed.deflate_window_bits(True) <= max(9, expected or 15)


# Client validation

RESPONSES = [
    DeflateParams(snct, cnct, smwb, cmwb)
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), (None, 8, 10, 15), (None, 8, 10, 15)
    )
]


def acceptable(offer, answer):
    """RFC 7692 §7.1 as a table: may a client accept ``answer``?"""
    if offer.server_no_context_takeover and not answer.server_no_context_takeover:
        return False
    if offer.server_max_window_bits is not None and (
        answer.server_max_window_bits is None
        or answer.server_max_window_bits > offer.server_max_window_bits
    ):
        return False
    if offer.client_max_window_bits is None:
        return answer.client_max_window_bits is None
    if offer.client_max_window_bits is True or answer.client_max_window_bits is None:
        return True
    return answer.client_max_window_bits <= offer.client_max_window_bits


@pytest.mark.parametrize("offer", OFFERS, ids=lambda o: o.header_value())
def test_client_validation_matrix(offer):
    for answer in RESPONSES:
        if acceptable(offer, answer):
            agreed = accept_deflate_response([answer.header_value()], offer)
            assert agreed.server_no_context_takeover == answer.server_no_context_takeover
            assert agreed.client_no_context_takeover == (
                offer.client_no_context_takeover or answer.client_no_context_takeover
            )
            assert agreed.server_max_window_bits == answer.server_max_window_bits
            if answer.client_max_window_bits is not None:
                assert agreed.client_max_window_bits == answer.client_max_window_bits
            elif offer.client_max_window_bits is True:
                assert agreed.client_max_window_bits is None
            else:  # we keep to what we offered
                assert agreed.client_max_window_bits == offer.client_max_window_bits
        else:
            with pytest.raises(InvalidResponse):
                accept_deflate_response([answer.header_value()], offer)


def test_client_no_extension():
    assert accept_deflate_response([], DEFAULT_OFFER) is None
    assert accept_deflate_response([], None) is None
    assert accept_deflate_response([""], DEFAULT_OFFER) is None


@pytest.mark.parametrize(
    "values, offer, word",
    [
        (["permessage-deflate"], None, "not offered"),
        (["x-webkit-deflate-frame"], DEFAULT_OFFER, "x-webkit-deflate-frame"),
        (["permessage-deflate, x-foo"], DEFAULT_OFFER, "x-foo"),
        (["permessage-deflate", "permessage-deflate"], DEFAULT_OFFER, "more than once"),
        (["permessage-deflate; client_max_window_bits=10"], DeflateParams(), "not offered"),
        (["permessage-deflate; client_max_window_bits"], DEFAULT_OFFER, "needs a value"),
        (["permessage-deflate; server_max_window_bits=16"], DEFAULT_OFFER, "8 to 15"),
        (["permessage-deflate; client_max_window_bits=7"], DEFAULT_OFFER, "8 to 15"),
        (["permessage-deflate; server_max_window_bits=x"], DEFAULT_OFFER, "8 to 15"),
        (
            ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            DEFAULT_OFFER,
            "duplicate",
        ),
        (["permessage-deflate; x=1"], DEFAULT_OFFER, "unknown"),
        (["permessage-deflate;"], DEFAULT_OFFER, "malformed"),
        (
            ["permessage-deflate"],
            DeflateParams(server_no_context_takeover=True),
            "server_no_context_takeover",
        ),
        (
            ["permessage-deflate; server_max_window_bits=11"],
            DeflateParams(server_max_window_bits=10),
            "server_max_window_bits",
        ),
    ],
)
def test_client_rejects_bad_response(values, offer, word):
    with pytest.raises(InvalidResponse) as info:
        accept_deflate_response(values, offer)
    assert word in info.value.reason


# Interoperability with the websockets library (sans-I/O)

websockets = pytest.importorskip("websockets")

from websockets.client import ClientProtocol  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame  # noqa: E402
from websockets.protocol import OPEN  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from wsfast.handshake import (  # noqa: E402
    build_request,
    build_response,
    check_request,
    check_response,
)
from wsfast.http import RequestReader, ResponseReader  # noqa: E402


def _frame(payload, mask=None):
    """A final text frame with RSV1 set (compressed)."""
    n = len(payload)
    head = bytes([0xC1])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    else:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def _deflate(data, bits):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -bits, DEFAULT_MEM_LEVEL)
    stream = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert stream.endswith(b"\x00\x00\xff\xff")
    return stream[:-4]


def _their_request(**factory):
    client = ClientProtocol(
        parse_uri("ws://example.com/"),
        extensions=[ClientPerMessageDeflateFactory(**factory)],
    )
    client.send_request(client.connect())
    reader = RequestReader()
    request = reader.feed(b"".join(client.data_to_send()))
    return client, request


THEIR_CLIENT_CONFIGS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), (None, 8, 10, 15), (None, True, 9, 12, 15)
    )
]


@pytest.mark.parametrize(
    "factory", THEIR_CLIENT_CONFIGS, ids=lambda f: ",".join(map(str, f.values()))
)
def test_websockets_client_offers(factory):
    text = _structured_data(random.Random(3), 3000)
    for config in [{}, dict(server_max_window_bits=None, client_max_window_bits=None),
                   dict(server_no_context_takeover=True, client_max_window_bits=9)]:
        client, request = _their_request(**factory)
        key = check_request(request)
        offers = parse_extensions(request.headers.get_all("Sec-WebSocket-Extensions"))
        header, params = negotiate_deflate(offers, **config)
        # A compressed message in the same read as the 101, compressed as
        # our deflate layer would.
        frame = _frame(_deflate(text, params.deflate_window_bits(is_server=True)))
        client.receive_data(build_response(key, None, header) + frame)
        assert client.handshake_exc is None, (header, client.handshake_exc)
        assert client.state is OPEN
        (extension,) = client.extensions
        assert extension.remote_no_context_takeover == params.server_no_context_takeover
        assert extension.local_no_context_takeover == params.client_no_context_takeover
        assert extension.remote_max_window_bits == (params.server_max_window_bits or 15)
        assert extension.local_max_window_bits == (params.client_max_window_bits or 15)
        events = client.events_received()
        assert isinstance(events[-1], Frame) and events[-1].data == text


THEIR_SERVER_CONFIGS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), (None, 9, 12, 15), (None, 8, 10, 15)
    )
]
OUR_OFFERS = [
    DEFAULT_OFFER,
    DeflateParams(),
    DeflateParams(server_max_window_bits=10, client_max_window_bits=12),
    DeflateParams(True, True, 15, True),
]


@pytest.mark.parametrize(
    "factory", THEIR_SERVER_CONFIGS, ids=lambda f: ",".join(map(str, f.values()))
)
def test_websockets_server_answers(factory):
    text = _structured_data(random.Random(5), 3000)
    for offer in OUR_OFFERS:
        server = ServerProtocol(extensions=[ServerPerMessageDeflateFactory(**factory)])
        data, key = build_request("example.com", None, extensions=deflate_offer(offer))
        server.receive_data(data)
        (request,) = server.events_received()
        server.send_response(server.accept(request))
        assert server.handshake_exc is None
        reader = ResponseReader()
        response = reader.feed(b"".join(server.data_to_send()))
        _, extensions = check_response(response, key)
        params = accept_deflate_response(extensions, offer)
        (extension,) = server.extensions
        assert extension.remote_no_context_takeover == params.client_no_context_takeover
        assert extension.local_no_context_takeover == params.server_no_context_takeover
        assert extension.remote_max_window_bits == (params.client_max_window_bits or 15)
        assert extension.local_max_window_bits == (params.server_max_window_bits or 15)
        # Their server inflates what our client compresses (8 served with 9).
        frame = _frame(
            _deflate(text, params.deflate_window_bits(is_server=False)), os.urandom(4)
        )
        server.receive_data(frame)
        (event,) = server.events_received()
        assert event.data == text
