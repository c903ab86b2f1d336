"""wsframe.handshake: RFC 6455 section 4 opening handshake, sans-IO."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe import HandshakeError
from wsframe.handshake import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    accept_key,
    build_error_response,
    build_extensions,
    build_request,
    build_response,
    build_subprotocols,
    check_request,
    check_response,
    generate_key,
    header_values,
    parse_extensions,
    parse_request,
    parse_response,
    parse_subprotocols,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def good_request_headers():
    return [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Version", "13"),
    ]


def replace(headers, name, *values):
    """``headers`` without ``name``, plus ``name: value`` for each value."""
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    return kept + [(name, v) for v in values]


# --- keys ----------------------------------------------------------------------------


def test_accept_key_rfc_example():
    assert accept_key(KEY) == ACCEPT


def test_accept_key_rejects_non_ascii():
    with pytest.raises(HandshakeError):
        accept_key("dGhlIHNhbXBsZSBub25jZQ=é")


def test_generate_key_is_16_random_bytes():
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(base64.b64decode(key, validate=True)) == 16
        assert len(key) == 24


# --- header_values -----------------------------------------------------------------


def test_header_values_splits_lists_and_merges_lines():
    headers = [
        ("connection", "keep-alive, Upgrade"),
        ("Host", "x"),
        ("CONNECTION", " close ,, "),
    ]
    assert header_values(headers, "Connection") == ["keep-alive", "Upgrade", "close"]
    assert header_values(headers, "missing") == []


def test_header_values_keeps_commas_inside_quotes():
    headers = [("Sec-WebSocket-Extensions", 'a; p="x,y", b')]
    assert header_values(headers, "sec-websocket-extensions") == ['a; p="x,y"', "b"]


# --- extensions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("permessage-deflate", [("permessage-deflate", [])]),
        (
            "permessage-deflate; client_max_window_bits",
            [("permessage-deflate", [("client_max_window_bits", None)])],
        ),
        (
            "permessage-deflate;server_max_window_bits=10;client_no_context_takeover",
            [
                (
                    "permessage-deflate",
                    [("server_max_window_bits", "10"), ("client_no_context_takeover", None)],
                )
            ],
        ),
        (
            'permessage-deflate ; server_max_window_bits = "10" , x-foo',
            [("permessage-deflate", [("server_max_window_bits", "10")]), ("x-foo", [])],
        ),
        ('a; b="\\c"', [("a", [("b", "c")])]),  # quoted-pair unescaped
        (", , a ,\t, b ,", [("a", []), ("b", [])]),  # empty list elements ignored
        ("a, a; p", [("a", []), ("a", [("p", None)])]),
    ],
)
def test_parse_extensions(value, expected):
    assert parse_extensions(value) == expected


def test_parse_extensions_accepts_several_lines():
    assert parse_extensions(["a; x=1", "b"]) == [("a", [("x", "1")]), ("b", [])]


@pytest.mark.parametrize(
    "value, what",
    [
        ("", "empty"),
        (" , ", "empty"),
        ("a;", "parameter name"),
        ("a; =1", "parameter name"),
        ("a; p=", "value for p"),
        ("a b", "expected ','"),
        ("a; p=1 2", "expected ','"),
        ('a; p="1', "unterminated"),
        ('a; p="1\\', "unterminated"),
        ('a; p="x y"', "token once unquoted"),
        ('a; p=""', "token once unquoted"),
        ("a; p=x@y", "expected ','"),
        ("a; p=\x01", "value for p"),
        ('a; p="\x01"', "invalid character"),
        ("(a)", "extension name"),
        ("a;;b", "parameter name"),
    ],
)
def test_parse_extensions_rejects(value, what):
    with pytest.raises(HandshakeError, match="Sec-WebSocket-Extensions") as info:
        parse_extensions(value)
    assert what in str(info.value)


def test_build_extensions_round_trip():
    extensions = [
        ("permessage-deflate", [("client_max_window_bits", None), ("server_max_window_bits", "10")]),
        ("x-foo", []),
    ]
    value = build_extensions(extensions)
    assert value == "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo"
    assert parse_extensions(value) == extensions


@pytest.mark.parametrize(
    "extensions",
    [[], [("a b", [])], [("a", [("p q", None)])], [("a", [("p", "x y")])], [("a", [("p", "")])]],
)
def test_build_extensions_rejects(extensions):
    with pytest.raises(ValueError):
        build_extensions(extensions)


# --- subprotocols --------------------------------------------------------------------


def test_subprotocols():
    assert parse_subprotocols("chat, superchat") == ["chat", "superchat"]
    assert parse_subprotocols(["chat", "v2.json ,"]) == ["chat", "v2.json"]
    assert build_subprotocols(["chat", "superchat"]) == "chat, superchat"


@pytest.mark.parametrize("value", ["", " , ", "chat room", "a, b/c", 'a, "b"'])
def test_parse_subprotocols_rejects(value):
    with pytest.raises(HandshakeError, match="Sec-WebSocket-Protocol"):
        parse_subprotocols(value)


@pytest.mark.parametrize("items", [[], ["a b"], [""], ["ok", "x,y"]])
def test_build_subprotocols_rejects(items):
    with pytest.raises(ValueError):
        build_subprotocols(items)


# --- parsing heads ---------------------------------------------------------------------

REQUEST = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def test_parse_request_rfc_example():
    method, target, headers = parse_request(REQUEST)
    assert (method, target) == ("GET", "/chat?room=1")
    assert headers[0] == ("Host", "server.example.com")
    assert ("Sec-WebSocket-Protocol", "chat, superchat") in headers
    assert len(headers) == 7
    assert check_request(method, headers) == KEY


def test_parse_request_strips_ows_and_keeps_obs_text():
    head = b"GET / HTTP/1.1\r\nHost:\t x \t\r\nX-Name: caf\xe9\r\nEmpty:\r\n\r\n"
    assert parse_request(head)[2] == [("Host", "x"), ("X-Name", "caf\xe9"), ("Empty", "")]


def test_parse_request_accepts_later_http_1_minor():
    assert parse_request(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n")[0] == "GET"


@pytest.mark.parametrize(
    "head, what",
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", "empty line"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nextra\r\n\r\n", "after the empty line"),
        (b"GET / HTTP/1.0\r\nHost: x\r\n\r\n", "at least 1.1"),
        (b"GET /  HTTP/1.1\r\nHost: x\r\n\r\n", "request line"),
        (b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", "request line"),
        (b"GET /\r\nHost: x\r\n\r\n", "request line"),
        (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "request line"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "not a token"),
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", "no ':'"),
        (b"GET / HTTP/1.1\r\n: x\r\n\r\n", "not a token"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "obs-fold"),
        (b"GET / HTTP/1.1\r\nHost: x\x00y\r\n\r\n", "control character"),
        (b"GET / HTTP/1.1\r\nHost: x\ny: z\r\n\r\n", "control character"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n\r\n", "no ':'"),
        (b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", "request line"),
        (b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", "request line"),
        (b"GET / HTTP/1.1\n\n", "empty line"),
    ],
)
def test_parse_request_rejects(head, what):
    with pytest.raises(HandshakeError) as info:
        parse_request(head)
    assert what in str(info.value)


def test_head_size_bound():
    filler = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    head = b"GET / HTTP/1.1\r\n" + filler * 60 + b"\r\n"
    assert len(head) <= MAX_HEAD_SIZE
    assert len(parse_request(head)[2]) == 60
    head = b"GET / HTTP/1.1\r\n" + filler * 66 + b"\r\n"
    assert len(head) > MAX_HEAD_SIZE
    with pytest.raises(HandshakeError, match="limit of 65536"):
        parse_request(head)
    response = b"HTTP/1.1 101 OK\r\n" + filler * 66 + b"\r\n"
    with pytest.raises(HandshakeError, match="limit of 65536"):
        parse_response(response)


def test_header_count_bound():
    head = b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * MAX_HEADERS + b"\r\n"
    assert len(parse_request(head)[2]) == MAX_HEADERS
    head = b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * (MAX_HEADERS + 1) + b"\r\n"
    with pytest.raises(HandshakeError, match="limit of 256"):
        parse_request(head)
    head = b"HTTP/1.1 101 OK\r\n" + b"A: b\r\n" * (MAX_HEADERS + 1) + b"\r\n"
    with pytest.raises(HandshakeError, match="limit of 256"):
        parse_response(head)


RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
)


def test_parse_response_rfc_example():
    status, reason, headers = parse_response(RESPONSE)
    assert (status, reason) == (101, "Switching Protocols")
    assert len(headers) == 4
    check_response(status, headers, KEY)


@pytest.mark.parametrize(
    "line, status, reason",
    [(b"HTTP/1.1 101 ", 101, ""), (b"HTTP/1.1 101", 101, ""), (b"HTTP/1.1 404 Not Found", 404, "Not Found")],
)
def test_parse_response_status_lines(line, status, reason):
    assert parse_response(line + b"\r\n\r\n")[:2] == (status, reason)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.0 101 OK\r\n\r\n",
        b"HTTP/1.1 1010 OK\r\n\r\n",
        b"HTTP/1.1 10 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1  101 OK\r\n\r\n",
        b"HTTX/1.1 101 OK\r\n\r\n",
        b"HTTP/1.1 101 OK\x00\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n",
        b"HTTP/1.1 101 OK\r\n",
    ],
)
def test_parse_response_rejects(head):
    with pytest.raises(HandshakeError):
        parse_response(head)


# --- check_request -------------------------------------------------------------------


def test_check_request_accepts_variants():
    headers = good_request_headers()
    headers = replace(headers, "Upgrade", "h2c, WebSocket")
    headers = replace(headers, "Connection", "keep-alive", "UPGRADE")
    headers = [(k.lower(), v) for k, v in headers]
    assert check_request("GET", headers) == KEY


@pytest.mark.parametrize(
    "change, status, message",
    [
        (lambda h: replace(h, "Host"), 400, "Host header is missing"),
        (lambda h: replace(h, "Host", ""), 400, "Host header is missing"),
        (lambda h: replace(h, "Host", "a", "b"), 400, "Host header must appear once"),
        (lambda h: replace(h, "Upgrade"), 400, "Upgrade header must contain 'websocket', got none"),
        (lambda h: replace(h, "Upgrade", "h2c"), 400, "Upgrade header must contain 'websocket', got h2c"),
        (lambda h: replace(h, "Upgrade", "websockets"), 400, "Upgrade header must contain"),
        (lambda h: replace(h, "Connection"), 400, "Connection header must contain 'Upgrade', got none"),
        (
            lambda h: replace(h, "Connection", "keep-alive"),
            400,
            "Connection header must contain 'Upgrade', got keep-alive",
        ),
        (lambda h: replace(h, "Connection", "upgraded"), 400, "Connection header must contain"),
        (lambda h: replace(h, "Sec-WebSocket-Version"), 426, "Sec-WebSocket-Version must be 13, got none"),
        (lambda h: replace(h, "Sec-WebSocket-Version", "8"), 426, "Sec-WebSocket-Version must be 13, got 8"),
        (lambda h: replace(h, "Sec-WebSocket-Version", "13, 8"), 426, "must be 13, got 13, 8"),
        (lambda h: replace(h, "Sec-WebSocket-Version", "13", "13"), 426, "must be 13, got 13, 13"),
        (lambda h: replace(h, "Sec-WebSocket-Version", "013"), 426, "must be 13"),
        (lambda h: replace(h, "Sec-WebSocket-Key"), 400, "Sec-WebSocket-Key header is missing"),
        (lambda h: replace(h, "Sec-WebSocket-Key", KEY, KEY), 400, "Sec-WebSocket-Key must appear once"),
        (lambda h: replace(h, "Sec-WebSocket-Key", "abc"), 400, "base64 of 16 bytes, got 'abc'"),
        (
            lambda h: replace(h, "Sec-WebSocket-Key", base64.b64encode(b"x" * 15).decode()),
            400,
            "base64 of 16 bytes",
        ),
        (
            lambda h: replace(h, "Sec-WebSocket-Key", base64.b64encode(b"x" * 17).decode()),
            400,
            "base64 of 16 bytes",
        ),
        (lambda h: replace(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ*="), 400, "base64 of 16 bytes"),
        (lambda h: replace(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ="), 400, "base64 of 16 bytes"),
        (lambda h: replace(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZ==="), 400, "base64 of 16 bytes"),
    ],
)
def test_check_request_rejects_each_bad_header(change, status, message):
    with pytest.raises(HandshakeError) as info:
        check_request("GET", change(good_request_headers()))
    assert message in str(info.value)
    assert info.value.status == status


@pytest.mark.parametrize("method", ["POST", "get", "HEAD"])
def test_check_request_rejects_method(method):
    with pytest.raises(HandshakeError, match="method must be GET, got " + method) as info:
        check_request(method, good_request_headers())
    assert info.value.status == 405


# --- check_response ------------------------------------------------------------------


def good_response_headers():
    return [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)]


@pytest.mark.parametrize(
    "status, change, message",
    [
        (200, lambda h: h, "expected status 101 Switching Protocols, got 200 OK"),
        (403, lambda h: h, "got 403 Forbidden"),
        (199, lambda h: h, "got 199"),
        (101, lambda h: replace(h, "Upgrade"), "Upgrade header must contain 'websocket'"),
        (101, lambda h: replace(h, "Upgrade", "h2c"), "Upgrade header must contain 'websocket', got h2c"),
        (101, lambda h: replace(h, "Connection"), "Connection header must contain 'Upgrade'"),
        (101, lambda h: replace(h, "Connection", "close"), "got close"),
        (101, lambda h: replace(h, "Sec-WebSocket-Accept"), "Sec-WebSocket-Accept header is missing"),
        (
            101,
            lambda h: replace(h, "Sec-WebSocket-Accept", ACCEPT, ACCEPT),
            "Sec-WebSocket-Accept must appear once",
        ),
        (
            101,
            lambda h: replace(h, "Sec-WebSocket-Accept", accept_key(generate_key())),
            "Sec-WebSocket-Accept must be " + ACCEPT,
        ),
        (101, lambda h: replace(h, "Sec-WebSocket-Accept", ACCEPT.lower()), "must be " + ACCEPT),
    ],
)
def test_check_response_rejects(status, change, message):
    with pytest.raises(HandshakeError) as info:
        check_response(status, change(good_response_headers()), KEY)
    assert message in str(info.value)


# --- building ------------------------------------------------------------------------


def test_build_request_round_trip():
    head, key = build_request(
        "example.com:8080",
        "/chat?x=1",
        subprotocols=["chat", "v2"],
        extensions="permessage-deflate; client_max_window_bits",
        extra_headers=[("Origin", "http://example.com")],
    )
    method, target, headers = parse_request(head)
    assert (method, target) == ("GET", "/chat?x=1")
    assert check_request(method, headers) == key
    assert header_values(headers, "Host") == ["example.com:8080"]
    assert header_values(headers, "Sec-WebSocket-Protocol") == ["chat", "v2"]
    assert dict(headers)["Sec-WebSocket-Extensions"] == "permessage-deflate; client_max_window_bits"
    assert dict(headers)["Origin"] == "http://example.com"
    assert build_request("x", key=KEY)[1] == KEY
    assert build_request("x")[1] != build_request("x")[1]


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("ex ample",), {}),
        (("x\r\nEvil: 1",), {}),
        (("x", "/a b"), {}),
        (("x", "/\r\n"), {}),
        (("x", ""), {}),
        (("x",), {"key": "abc"}),
        (("x",), {"subprotocols": ["a b"]}),
        (("x",), {"extra_headers": [("X", "a\r\nEvil: 1")]}),
        (("x",), {"extra_headers": [("X Y", "a")]}),
        (("x",), {"extensions": "a\r\n"}),
        (("h\u00e9\u4e2d",), {}),
    ],
)
def test_build_request_rejects_injection(args, kwargs):
    with pytest.raises(ValueError):
        build_request(*args, **kwargs)


def test_build_response_round_trip():
    head = build_response(KEY, subprotocol="chat", extensions="permessage-deflate")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    status, reason, headers = parse_response(head)
    check_response(status, headers, KEY)
    assert header_values(headers, "Sec-WebSocket-Accept") == [ACCEPT]
    assert header_values(headers, "Sec-WebSocket-Protocol") == ["chat"]
    assert header_values(headers, "Sec-WebSocket-Extensions") == ["permessage-deflate"]
    plain = parse_response(build_response(KEY))[2]
    assert header_values(plain, "Sec-WebSocket-Protocol") == []
    with pytest.raises(ValueError):
        build_response(KEY, subprotocol="a b")


def test_build_error_response():
    data = build_error_response(400, "Sec-WebSocket-Key header is missing")
    head, _, body = data.partition(b"\r\n\r\n")
    status, reason, headers = parse_response(head + b"\r\n\r\n")
    assert (status, reason) == (400, "Bad Request")
    assert body == b"Sec-WebSocket-Key header is missing\n"
    assert header_values(headers, "Content-Length") == [str(len(body))]
    assert header_values(headers, "Connection") == ["close"]
    assert header_values(headers, "Sec-WebSocket-Version") == []


def test_build_error_response_426_names_the_version():
    data = build_error_response(426, "Sec-WebSocket-Version must be 13, got 8")
    head = data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    status, reason, headers = parse_response(head)
    assert (status, reason) == (426, "Upgrade Required")
    assert header_values(headers, "Sec-WebSocket-Version") == ["13"]
    assert header_values(headers, "Upgrade") == ["websocket"]
    assert "Upgrade" in header_values(headers, "Connection")


def test_build_error_response_unicode_body_and_unknown_status():
    data = build_error_response(599, "héllo")
    assert data.startswith(b"HTTP/1.1 599 Error\r\n")
    assert data.endswith("héllo\n".encode("utf-8"))
    for status in (101, 1000, 0):
        with pytest.raises(ValueError):
            build_error_response(status, "x")


def test_error_from_check_request_to_response():
    head = REQUEST.replace(b"Version: 13", b"Version: 7")
    method, _, headers = parse_request(head)
    with pytest.raises(HandshakeError) as info:
        check_request(method, headers)
    data = build_error_response(info.value.status, str(info.value))
    assert data.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13\r\n" in data


# --- robustness (hypothesis) -----------------------------------------------------------


TOKEN = st.text(alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)


@given(st.binary(max_size=300))
def test_parse_heads_never_crash(data):
    for parse in (parse_request, parse_response):
        for head in (data, data + b"\r\n\r\n", b"GET / HTTP/1.1\r\n" + data + b"\r\n\r\n"):
            try:
                parse(head)
            except HandshakeError:
                pass


@given(st.text(max_size=200))
def test_parse_extensions_never_crashes(value):
    try:
        result = parse_extensions(value)
    except HandshakeError:
        return
    # whatever parses builds back to something that parses the same
    assert parse_extensions(build_extensions(result)) == result


@given(st.lists(st.tuples(TOKEN, st.lists(st.tuples(TOKEN, st.none() | TOKEN), max_size=4)), min_size=1, max_size=4))
def test_extensions_round_trip(extensions):
    assert parse_extensions(build_extensions(extensions)) == extensions


@given(st.lists(st.tuples(TOKEN, st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=30)), max_size=10))
def test_request_headers_round_trip(extra):
    extra = [(k, v.strip(" \t")) for k, v in extra]
    head, key = build_request("h", "/", extra_headers=extra)
    method, target, headers = parse_request(head)
    assert headers[5:] == extra
