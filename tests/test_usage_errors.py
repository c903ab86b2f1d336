"""What a new user passes wrongly to handshake and deflate gets an error that names the fix
(issue 15), and the forms that are plainly meant (a dict of headers, a list of repeated
header values, ASGI's bytes pairs) simply work."""

import pickle

import pytest

from wsframe import HandshakeError, deflate, handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = {
    "Host": "example.com",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": KEY,
}
PMD = "permessage-deflate"


# -- headers in the forms users have at hand -----------------------------------------------


def test_check_request_takes_a_dict():
    assert handshake.check_request("GET", REQUEST) == KEY


def test_check_request_dict_missing_header_is_a_handshake_error():
    with pytest.raises(HandshakeError, match="Upgrade header must contain") as info:
        handshake.check_request("GET", {"Host": "x"})
    assert info.value.status == 400


def test_check_request_takes_asgi_bytes_pairs():
    pairs = [(k.lower().encode(), v.encode()) for k, v in REQUEST.items()]
    assert handshake.check_request("GET", pairs) == KEY


def test_header_values_takes_a_dict():
    assert handshake.header_values({"Connection": "keep-alive, Upgrade"}, "connection") == [
        "keep-alive",
        "Upgrade",
    ]


@pytest.mark.parametrize(
    "headers, fix",
    [
        ("Host: x\r\n", "parse_request"),
        (b"Host: x\r\n", "parse_request"),
        ([("Host",)], r"\(name, value\) pairs"),
        (["Host: x"], r"\(name, value\) pairs"),
        ([("Host", 1)], "as str"),
        (None, "list of \\(name, value\\) pairs or a dict"),
        (5, "list of \\(name, value\\) pairs or a dict"),
    ],
)
def test_check_request_wrong_headers_name_the_fix(headers, fix):
    with pytest.raises(TypeError, match=fix):
        handshake.check_request("GET", headers)


def test_check_request_method_as_bytes():
    with pytest.raises(TypeError, match=r"method as str, not bytes \(e.g. 'GET'\)"):
        handshake.check_request(b"GET", REQUEST)


# -- HandshakeError.status -------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, status",
    [
        (b"GET / HTTP/1.0\r\nHost: x\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * (handshake.MAX_HEADERS + 1) + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nX: " + b"y" * handshake.MAX_HEAD_SIZE + b"\r\n\r\n", 431),
    ],
)
def test_parse_request_errors_carry_a_status(head, status):
    with pytest.raises(HandshakeError) as info:
        handshake.parse_request(head)
    assert info.value.status == status


def test_every_handshake_error_has_a_status():
    for call in (
        lambda: handshake.parse_response(b"HTTP/1.1 101\r\nX\r\n\r\n"),
        lambda: handshake.parse_extensions("a;;"),
        lambda: handshake.parse_subprotocols("a b"),
        lambda: handshake.accept_key("\u00e9"),
        lambda: handshake.check_response(200, [], KEY),
    ):
        with pytest.raises(HandshakeError) as info:
            call()
        assert info.value.status == 400
    assert HandshakeError("x").status == 400


def test_handshake_error_pickles_with_its_status():
    error = pickle.loads(pickle.dumps(HandshakeError("too old", 505)))
    assert (str(error), error.status) == ("too old", 505)


# -- heads given as str --------------------------------------------------------------------


@pytest.mark.parametrize("parse", [handshake.parse_request, handshake.parse_response])
def test_parse_head_as_str_says_encode(parse):
    with pytest.raises(TypeError, match=r"not str: encode it with .encode\('latin-1'\)"):
        parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_parse_head_as_none():
    with pytest.raises(TypeError, match="head as bytes"):
        handshake.parse_request(None)


# -- building responses ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not base64!!", "", "dGhlIHNhbXBsZSBub25jZQ", "AAAA" * 8])
def test_build_response_checks_the_key(key):
    with pytest.raises(ValueError, match="what check_request\\(\\) returned"):
        handshake.build_response(key)


def test_build_response_key_as_bytes():
    with pytest.raises(TypeError, match="key as str, not bytes"):
        handshake.build_response(KEY.encode())


def test_build_response_extensions_as_list_is_joined():
    head = handshake.build_response(KEY, extensions=[PMD, "x-other"])
    headers = handshake.parse_response(head)[2]
    assert handshake.header_values(headers, "Sec-WebSocket-Extensions") == [PMD, "x-other"]


def test_build_response_extra_headers_as_dict():
    head = handshake.build_response(KEY, extra_headers={"Server": "wsframe"})
    assert handshake.header_values(handshake.parse_response(head)[2], "Server") == ["wsframe"]


def test_build_response_subprotocol_as_list():
    with pytest.raises(TypeError, match="subprotocol as str, not list"):
        handshake.build_response(KEY, subprotocol=["chat"])


def test_build_request_subprotocols_as_str_is_not_split_into_letters():
    with pytest.raises(TypeError, match=r"subprotocols=\['chat'\]"):
        handshake.build_request("x", subprotocols="chat")


def test_build_request_given_a_uri_says_host_and_path():
    with pytest.raises(ValueError, match="host='example.com:8765'.*path='/chat'"):
        handshake.build_request("ws://example.com:8765/chat")
    with pytest.raises(ValueError, match="must start with '/'"):
        handshake.build_request("example.com", "chat")
    with pytest.raises(TypeError, match="host as str, not bytes"):
        handshake.build_request(b"example.com")


def test_build_error_response_argument_types():
    with pytest.raises(TypeError, match="reason as str, not bytes"):
        handshake.build_error_response(400, b"bad")
    with pytest.raises(TypeError, match="status as int"):
        handshake.build_error_response("400", "bad")


def test_check_response_argument_types():
    with pytest.raises(TypeError, match="status as int"):
        handshake.check_response("101", [], KEY)
    with pytest.raises(TypeError, match="key as str"):
        handshake.check_response(101, [], KEY.encode())


def test_accept_key_bytes():
    with pytest.raises(TypeError, match=r"decode it with .decode\('ascii'\)"):
        handshake.accept_key(KEY.encode())


def test_build_extensions_given_a_str():
    with pytest.raises(TypeError, match=r"\[\('permessage-deflate', \[\]\)\]"):
        handshake.build_extensions(PMD)


# -- deflate negotiation ------------------------------------------------------------------


def test_server_negotiate_takes_a_list_like_a_str():
    lines = ["x-unknown", PMD + "; server_max_window_bits=10"]
    pmd_list, value_list = deflate.server_negotiate(lines)
    pmd_str, value_str = deflate.server_negotiate(", ".join(lines))
    assert value_list == value_str == PMD + "; server_max_window_bits=10"
    assert repr(pmd_list) == repr(pmd_str)
    assert deflate.server_negotiate([]) == (None, None)


@pytest.mark.parametrize("value", [PMD.encode(), bytearray(PMD.encode()), 5, [b"x"]])
def test_server_negotiate_wrong_type_says_what_to_pass(value):
    with pytest.raises(TypeError, match=r"server_negotiate\(\) takes the .*Sec-WebSocket-Extensions"):
        deflate.server_negotiate(value)


def test_server_negotiate_misspelt_option_fails_without_an_offer():
    with pytest.raises(TypeError, match="'levle' \\(the PerMessageDeflate options are level"):
        deflate.server_negotiate(None, levle=3)


def test_client_accept_takes_lists_and_refuses_bytes():
    offer = deflate.client_offer()
    pmd = deflate.client_accept([offer], [PMD + "; client_max_window_bits=12"])
    assert pmd is not None and pmd.client_max_window_bits == 12
    with pytest.raises(TypeError, match="decode it"):
        deflate.client_accept(offer, PMD.encode())
    with pytest.raises(TypeError, match="'thresold'"):
        deflate.client_accept(offer, None, thresold=0)


def test_negotiated_from_a_list_round_trips(impl):
    """A PerMessageDeflate negotiated from a list of header lines works with the codec."""
    offer = deflate.client_offer()
    server_pmd, value = deflate.server_negotiate([offer])
    client_pmd = deflate.client_accept(offer, value)
    encoder = impl.FrameEncoder("client", extensions=[client_pmd])
    decoder = impl.FrameDecoder("server", extensions=[server_pmd])
    text = "hello " * 100
    frame = encoder.text(text)
    assert len(frame) < len(text)  # compressed
    [event] = decoder.feed(frame)
    assert event.data == text
