"""The WebSocket opening handshake (RFC 6455 section 4), sans-IO.

Everything here works on bytes and strings: parse the head of a request or response that
the caller read (everything up to and including the blank line), validate it, and build
the head to write back. No sockets, no event loop.

Headers are lists of ``(name, value)`` pairs as they arrived: names compare
case-insensitively, a header may appear several times, and a comma-separated header is
the same as the same header repeated (RFC 7230 section 3.2.2), which is what
:func:`header_values` implements.

Every failure raises :class:`wsframe.HandshakeError` (a ``ValueError``) with a message
that names the header and what was expected, and ``status``: the HTTP status to answer
with (426 when the version is not 13, in which case the response must carry
``Sec-WebSocket-Version: 13``, which :func:`build_error_response` adds; 405 for a method
other than GET; 431 for a head over the limits; 505 for HTTP/1.0; otherwise 400).

Arguments of the wrong type raise ``TypeError`` saying what was expected. Headers may be
given as a list of ``(name, value)`` pairs (what :func:`parse_request` returns), as a
mapping (``{"Host": "example.com"}``), or as ASGI gives them, ``(bytes, bytes)`` pairs
(decoded as latin-1). A header value that may be repeated (``Sec-WebSocket-Extensions``,
``Sec-WebSocket-Protocol``) is taken as one ``str`` or as a list of the repeated values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import os
import re
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Tuple, Union

if TYPE_CHECKING:
    from typing_extensions import Buffer

from ._errors import HandshakeError

__all__ = [
    "GUID",
    "MAX_HEAD_SIZE",
    "MAX_HEADERS",
    "accept_key",
    "generate_key",
    "parse_extensions",
    "build_extensions",
    "parse_subprotocols",
    "build_subprotocols",
    "parse_request",
    "parse_response",
    "check_request",
    "check_response",
    "build_request",
    "build_response",
    "build_error_response",
    "header_values",
]

#: RFC 6455 section 1.3.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: Longest head accepted by :func:`parse_request` / :func:`parse_response`, in bytes.
MAX_HEAD_SIZE = 64 * 1024
#: Most header lines accepted by :func:`parse_request` / :func:`parse_response`.
MAX_HEADERS = 256

#: Headers as accepted: (name, value) pairs, a mapping, or ASGI's (bytes, bytes) pairs.
Headers = Union[Iterable[Tuple[str, str]], Mapping[str, str], Iterable[Tuple[bytes, bytes]]]
ExtensionList = List[Tuple[str, List[Tuple[str, Optional[str]]]]]

# RFC 7230 section 3.2.6: token = 1*tchar.
_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OWS = " \t"
# A header value: VCHAR, obs-text, SP, HTAB (RFC 7230 section 3.2); no other control.
_VALUE_RE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_REQUEST_LINE_RE = re.compile(
    r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP/(\d)\.(\d)"
)
_STATUS_LINE_RE = re.compile(r"HTTP/(\d)\.(\d) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")
# A request target or Host value we are willing to put on the wire: no whitespace,
# no control characters (so no header injection).
_SAFE_RE = re.compile(r"[\x21-\x7e\x80-\xff]+")


def _is_token(value: str) -> bool:
    return _TOKEN_RE.fullmatch(value) is not None


def _type_name(value: Any) -> str:
    return type(value).__name__


def _headers(headers: Any, func: str) -> list[tuple[str, str]]:
    """``headers`` as a list of ``(str, str)`` pairs, or a TypeError that says what to pass."""
    if isinstance(headers, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            "%s() takes headers as a list of (name, value) pairs (the third item of "
            "parse_request(head)) or a dict, not %s: parse the raw head with "
            "parse_request()/parse_response() first" % (func, _type_name(headers))
        )
    items = getattr(headers, "items", None)
    if callable(items):  # dict, Mapping, http.client.HTTPMessage
        headers = items()
    try:
        pairs = list(headers)
    except TypeError:
        raise TypeError(
            "%s() takes headers as a list of (name, value) pairs or a dict, not %s"
            % (func, _type_name(headers))
        ) from None
    result = []
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                "%s() takes headers as (name, value) pairs, but one item is %r: pass "
                "[(name, value), ...] or a dict" % (func, pair)
            )
        name, value = pair
        if isinstance(name, bytes):  # ASGI's raw headers
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                "%s() takes header names and values as str (or bytes), not %s in %r"
                % (func, _type_name(value if isinstance(name, str) else name), pair)
            )
        result.append((name, value))
    return result


def _header_value(value: Any, func: str, header: str) -> str:
    """A header value given as one str or as a list of the values of a repeated header."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(
            "%s() takes the %s header value as str (or a list of str when the header is "
            "repeated), not %s: decode it with .decode('latin-1')"
            % (func, header, _type_name(value))
        )
    try:
        values = list(value)
    except TypeError:
        raise TypeError(
            "%s() takes the %s header value as str (or a list of str when the header is "
            "repeated), not %s" % (func, header, _type_name(value))
        ) from None
    for item in values:
        if not isinstance(item, str):
            raise TypeError(
                "%s() takes the values of a repeated %s header as str, not %s (%r)"
                % (func, header, _type_name(item), item)
            )
    return ", ".join(values)


def _check_str(value: Any, func: str, what: str, fix: str = "") -> None:
    if not isinstance(value, str):
        raise TypeError(
            "%s() takes %s as str, not %s%s" % (func, what, _type_name(value), fix)
        )


# ---------------------------------------------------------------------------------------
# Keys


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    _check_str(key, "accept_key", "the Sec-WebSocket-Key", ": decode it with .decode('ascii')")
    try:
        raw = key.encode("ascii")
    except UnicodeEncodeError:
        raise HandshakeError("Sec-WebSocket-Key must be ASCII (base64)") from None
    digest = hashlib.sha1(raw + GUID.encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes from ``os.urandom``, base64."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


# ---------------------------------------------------------------------------------------
# Comma-separated lists


def _split_list(value: str) -> list[str]:
    """Split an HTTP list on commas outside quoted strings; strip OWS; drop empties.

    RFC 7230 section 7: a recipient accepts empty list elements and ignores them.
    """
    items = []
    start = 0
    in_quotes = False
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if in_quotes:
            if c == "\\":
                i += 1  # skip the escaped character
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == ",":
            items.append(value[start:i])
            start = i + 1
        i += 1
    items.append(value[start:])
    return [item.strip(_OWS) for item in items if item.strip(_OWS)]


def header_values(headers: Headers, name: str) -> list[str]:
    """All the values of header ``name`` (case-insensitive), comma-separated lists split.

    ``Connection: keep-alive, Upgrade`` and two lines ``Connection: keep-alive`` /
    ``Connection: Upgrade`` both give ``["keep-alive", "Upgrade"]``. Commas inside
    quoted strings do not split; empty elements are dropped.
    """
    _check_str(name, "header_values", "the header name")
    name = name.lower()
    values: list[str] = []
    for key, value in _headers(headers, "header_values"):
        if key.lower() == name:
            values.extend(_split_list(value))
    return values


def _raw_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]


# ---------------------------------------------------------------------------------------
# Sec-WebSocket-Extensions (RFC 6455 section 9.1)


class _Scanner:
    """A tiny cursor over a header value, for the extension grammar."""

    __slots__ = ("text", "pos")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> HandshakeError:
        shown = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        return HandshakeError(
            "invalid Sec-WebSocket-Extensions %r: %s at position %d" % (shown, what, self.pos)
        )

    def skip_ows(self) -> None:
        text = self.text
        n = len(text)
        while self.pos < n and text[self.pos] in _OWS:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self, what: str) -> str:
        match = _TOKEN_RE.match(self.text, self.pos)
        if match is None:
            raise self.error("expected %s (a token)" % what)
        self.pos = match.end()
        return match.group()

    def quoted_string(self) -> str:
        # quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 7230 3.2.6)
        text = self.text
        n = len(text)
        self.pos += 1  # opening quote
        out: list[str] = []
        while True:
            if self.pos >= n:
                raise self.error("unterminated quoted string")
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out)
            if c == "\\":
                self.pos += 1
                if self.pos >= n:
                    raise self.error("unterminated quoted string")
                c = text[self.pos]
                if not (c in "\t " or "\x21" <= c <= "\x7e" or "\x80" <= c <= "\xff"):
                    raise self.error("invalid escaped character")
            elif not (c in "\t " or "\x21" <= c <= "\x7e" or "\x80" <= c <= "\xff"):
                raise self.error("invalid character in quoted string")
            out.append(c)
            self.pos += 1


def parse_extensions(value: str | Iterable[str]) -> ExtensionList:
    """Parse a ``Sec-WebSocket-Extensions`` value into ``[(name, [(param, value), ...])]``.

    Grammar of RFC 6455 section 9.1: a comma-separated list of extensions, each a token
    followed by ``; param`` or ``; param=value`` where value is a token or a quoted string
    (returned unquoted, and which must be a token once unquoted). A parameter without a
    value has ``None``. Several header lines are joined with ``", "`` (pass the joined
    string, or the list of lines). Empty list elements are ignored, but at least one
    extension is required. Bad syntax raises :class:`HandshakeError`.
    """
    value = _header_value(value, "parse_extensions", "Sec-WebSocket-Extensions")
    scanner = _Scanner(value)
    result: ExtensionList = []
    while True:
        # Empty list elements: "*( "," OWS ) element".
        scanner.skip_ows()
        while scanner.peek() == ",":
            scanner.pos += 1
            scanner.skip_ows()
        if scanner.pos >= len(value):
            break
        name = scanner.token("an extension name")
        params: list[tuple[str, str | None]] = []
        scanner.skip_ows()
        while scanner.peek() == ";":
            scanner.pos += 1
            scanner.skip_ows()
            pname = scanner.token("a parameter name")
            pvalue: str | None = None
            scanner.skip_ows()
            if scanner.peek() == "=":
                scanner.pos += 1
                scanner.skip_ows()
                if scanner.peek() == '"':
                    start = scanner.pos
                    pvalue = scanner.quoted_string()
                    if not _is_token(pvalue):
                        scanner.pos = start
                        raise scanner.error(
                            "the quoted value of %s must be a token once unquoted" % pname
                        )
                else:
                    pvalue = scanner.token("a value for %s" % pname)
                scanner.skip_ows()
            params.append((pname, pvalue))
        result.append((name, params))
        if scanner.pos < len(value):
            if scanner.peek() != ",":
                raise scanner.error("expected ',' or ';'")
    if not result:
        raise HandshakeError("empty Sec-WebSocket-Extensions")
    return result


def build_extensions(extensions: Iterable[tuple[str, Iterable[tuple[str, str | None]]]]) -> str:
    """The inverse of :func:`parse_extensions`: ``"a; p=1; q, b"``.

    Names and values must be tokens (RFC 6455 section 9.1 requires values to be tokens,
    quoted or not, so they are never quoted here); otherwise ``ValueError``.
    """
    if isinstance(extensions, (str, bytes)):
        raise TypeError(
            "build_extensions() takes a list of (name, [(param, value), ...]) pairs, e.g. "
            "[('permessage-deflate', [])], not %s" % _type_name(extensions)
        )
    parts = []
    for item in extensions:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                "build_extensions() takes (name, [(param, value), ...]) pairs, got %r" % (item,)
            )
        name, params = item
        if not isinstance(name, str) or not _is_token(name):
            raise ValueError("extension name %r is not a token" % (name,))
        items = [name]
        for pname, pvalue in params:
            if not _is_token(pname):
                raise ValueError("parameter name %r is not a token" % (pname,))
            if pvalue is None:
                items.append(pname)
            else:
                pvalue = str(pvalue)
                if not _is_token(pvalue):
                    raise ValueError("value %r of %s is not a token" % (pvalue, pname))
                items.append("%s=%s" % (pname, pvalue))
        parts.append("; ".join(items))
    if not parts:
        raise ValueError("no extension to build")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------
# Sec-WebSocket-Protocol


def parse_subprotocols(value: str | Iterable[str]) -> list[str]:
    """Parse ``Sec-WebSocket-Protocol``: a comma-separated list of tokens (1#token)."""
    value = _header_value(value, "parse_subprotocols", "Sec-WebSocket-Protocol")
    items = [item.strip(_OWS) for item in value.split(",")]
    result = []
    for item in items:
        if not item:
            continue  # empty list element, RFC 7230 section 7
        if not _is_token(item):
            raise HandshakeError(
                "invalid Sec-WebSocket-Protocol %r: %r is not a token" % (value, item)
            )
        result.append(item)
    if not result:
        raise HandshakeError("empty Sec-WebSocket-Protocol")
    return result


def build_subprotocols(subprotocols: Iterable[str]) -> str:
    """``"chat, superchat"``; every subprotocol must be a token, else ``ValueError``."""
    if isinstance(subprotocols, (str, bytes)):
        raise TypeError(
            "subprotocols must be a list of str, e.g. [%r], not a %s"
            % (subprotocols, _type_name(subprotocols))
        )
    items = list(subprotocols)
    for item in items:
        if not isinstance(item, str) or not _is_token(item):
            raise ValueError("subprotocol %r is not a token" % (item,))
    if not items:
        raise ValueError("no subprotocol to build")
    return ", ".join(items)


def _subprotocol_list(subprotocols: Any) -> Iterable[str]:
    if isinstance(subprotocols, (str, bytes)):
        raise TypeError(
            "build_request() takes subprotocols as a list of str, e.g. subprotocols=[%r], "
            "not a %s" % (subprotocols, _type_name(subprotocols))
        )
    return subprotocols


# ---------------------------------------------------------------------------------------
# Parsing heads


def _split_head(head: Buffer, what: str) -> tuple[str, list[tuple[str, str]]]:
    if isinstance(head, str):
        raise TypeError(
            "parse_%s() takes the head as bytes (as read from the socket), not str: "
            "encode it with .encode('latin-1')" % what
        )
    try:
        raw = bytes(head)
    except TypeError:
        raise TypeError(
            "parse_%s() takes the head as bytes (as read from the socket), not %s"
            % (what, _type_name(head))
        ) from None
    if len(raw) > MAX_HEAD_SIZE:
        raise HandshakeError(
            "%s head is %d bytes, more than the limit of %d" % (what, len(raw), MAX_HEAD_SIZE),
            431,
        )
    if not raw.endswith(b"\r\n\r\n"):
        raise HandshakeError("%s head must end with an empty line (CRLF CRLF)" % what)
    if raw.find(b"\r\n\r\n") != len(raw) - 4:
        raise HandshakeError("%s head contains data after the empty line" % what)
    # latin-1 maps every byte to one code point: obs-text survives, nothing fails.
    text = raw[:-4].decode("latin-1")
    lines = text.split("\r\n")
    if len(lines) - 1 > MAX_HEADERS:
        raise HandshakeError(
            "%s has %d header lines, more than the limit of %d"
            % (what, len(lines) - 1, MAX_HEADERS),
            431,
        )
    start_line = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            raise HandshakeError("%s head contains an empty line before its end" % what)
        if line[0] in _OWS:
            raise HandshakeError(
                "%s header line %r is folded (obs-fold), which is not accepted"
                % (what, line[:100])
            )
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeError("%s header line %r has no ':'" % (what, line[:100]))
        if not _is_token(name):
            # Also catches whitespace between the name and the colon (RFC 7230 3.2.4).
            raise HandshakeError("%s header name %r is not a token" % (what, name[:100]))
        value = value.strip(_OWS)
        if _VALUE_RE.fullmatch(value) is None:
            raise HandshakeError(
                "%s header %s has a control character in its value" % (what, name)
            )
        headers.append((name, value))
    return start_line, headers


def parse_request(head: Buffer) -> tuple[str, str, list[tuple[str, str]]]:
    """Parse a request head into ``(method, target, headers)``.

    ``head`` is everything up to and including the blank line ``\\r\\n\\r\\n``. Lines end
    with CRLF; folded headers, whitespace before the colon and control characters are
    rejected; the HTTP version must be at least 1.1 (RFC 6455 section 4.1). At most
    :data:`MAX_HEAD_SIZE` bytes and :data:`MAX_HEADERS` headers. Values are decoded as
    latin-1, stripped of surrounding whitespace.
    """
    start_line, headers = _split_head(head, "request")
    match = _REQUEST_LINE_RE.fullmatch(start_line)
    if match is None:
        raise HandshakeError("invalid request line %r" % start_line[:200])
    method, target, major, minor = match.groups()
    if (int(major), int(minor)) < (1, 1):
        raise HandshakeError(
            "HTTP version must be at least 1.1, got %s.%s" % (major, minor), 505
        )
    return method, target, headers


def parse_response(head: Buffer) -> tuple[int, str, list[tuple[str, str]]]:
    """Parse a response head into ``(status, reason, headers)``; same rules as requests."""
    start_line, headers = _split_head(head, "response")
    match = _STATUS_LINE_RE.fullmatch(start_line)
    if match is None:
        raise HandshakeError("invalid status line %r" % start_line[:200])
    major, minor, status, reason = match.groups()
    if (int(major), int(minor)) < (1, 1):
        raise HandshakeError("HTTP version must be at least 1.1, got %s.%s" % (major, minor))
    return int(status), reason or "", headers


# ---------------------------------------------------------------------------------------
# Validating


def _fail(message: str, status: int = 400) -> HandshakeError:
    return HandshakeError(message, status)


def _check_upgrade_headers(headers: Headers, status: int) -> None:
    upgrade = header_values(headers, "Upgrade")
    if not any(item.lower() == "websocket" for item in upgrade):
        raise _fail(
            "Upgrade header must contain 'websocket', got %s"
            % (", ".join(upgrade) if upgrade else "none"),
            status,
        )
    connection = header_values(headers, "Connection")
    if not any(item.lower() == "upgrade" for item in connection):
        raise _fail(
            "Connection header must contain 'Upgrade', got %s"
            % (", ".join(connection) if connection else "none"),
            status,
        )


def _is_valid_key(key: str) -> bool:
    if len(key) != 24:
        return False
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return False
    return len(raw) == 16


def check_request(method: str, headers: Headers) -> str:
    """Validate a client's opening handshake (RFC 6455 section 4.2.1); return its key.

    Checks: method GET; exactly one Host; Upgrade contains ``websocket`` and Connection
    contains ``upgrade`` (case-insensitive tokens); ``Sec-WebSocket-Version: 13``;
    exactly one ``Sec-WebSocket-Key``, the base64 of exactly 16 bytes. Raises
    :class:`HandshakeError` with ``status`` set (405, 426 or 400) on the first failure.
    ``headers``: ``(name, value)`` pairs or a mapping (see the module docstring).
    """
    _check_str(method, "check_request", "the method", " (e.g. 'GET')")
    pairs = _headers(headers, "check_request")
    if method != "GET":
        raise _fail("method must be GET, got %s" % method, 405)
    hosts = _raw_values(pairs, "Host")
    if not hosts or not hosts[0]:
        raise _fail("Host header is missing")
    if len(hosts) != 1:
        raise _fail("Host header must appear once, got %d" % len(hosts))
    _check_upgrade_headers(pairs, 400)
    versions = header_values(pairs, "Sec-WebSocket-Version")
    if versions != ["13"]:
        raise _fail(
            "Sec-WebSocket-Version must be 13, got %s"
            % (", ".join(versions) if versions else "none"),
            426,
        )
    keys = header_values(pairs, "Sec-WebSocket-Key")
    if not keys:
        raise _fail("Sec-WebSocket-Key header is missing")
    if len(keys) != 1:
        raise _fail("Sec-WebSocket-Key must appear once, got %d values" % len(keys))
    key = keys[0]
    if not _is_valid_key(key):
        raise _fail("Sec-WebSocket-Key must be the base64 of 16 bytes, got %r" % key[:100])
    return key


def check_response(status: int, headers: Headers, key: str) -> None:
    """Validate a server's opening handshake response (RFC 6455 section 4.1).

    Checks: status 101; Upgrade contains ``websocket``; Connection contains ``upgrade``;
    exactly one ``Sec-WebSocket-Accept`` equal to ``accept_key(key)``.
    Extensions and subprotocol are the caller's (see :mod:`wsframe.deflate`).
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(
            "check_response() takes the status as int (the first item of "
            "parse_response(head)), not %s" % _type_name(status)
        )
    pairs = _headers(headers, "check_response")
    _check_str(key, "check_response", "the key", " (the one build_request() returned)")
    if status != 101:
        try:
            phrase = " " + http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        raise _fail("expected status 101 Switching Protocols, got %d%s" % (status, phrase))
    _check_upgrade_headers(pairs, 400)
    accepts = _raw_values(pairs, "Sec-WebSocket-Accept")
    if not accepts:
        raise _fail("Sec-WebSocket-Accept header is missing")
    if len(accepts) != 1:
        raise _fail("Sec-WebSocket-Accept must appear once, got %d" % len(accepts))
    expected = accept_key(key)
    if accepts[0] != expected:
        raise _fail(
            "Sec-WebSocket-Accept must be %s for our key, got %r" % (expected, accepts[0][:100])
        )


# ---------------------------------------------------------------------------------------
# Building heads


def _header_lines(headers: Iterable[tuple[str, str]]) -> list[str]:
    lines = []
    for name, value in headers:
        if not isinstance(name, str):
            raise TypeError("header names must be str, not %s (%r)" % (_type_name(name), name))
        if isinstance(value, (bytes, bytearray)):
            raise TypeError(
                "header %s: values must be str, not %s: decode it with .decode('latin-1')"
                % (name, _type_name(value))
            )
        if not _is_token(name):
            raise ValueError("header name %r is not a token" % (name,))
        value = str(value)
        if _VALUE_RE.fullmatch(value) is None:
            raise ValueError("header %s has a control character in its value" % name)
        lines.append("%s: %s" % (name, value))
    return lines


def _encode(lines: list[str]) -> bytes:
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            "handshake headers must be latin-1 (encode international host names with IDNA)"
        ) from None


def build_request(
    host: str,
    path: str = "/",
    *,
    key: str | None = None,
    subprotocols: Iterable[str] = (),
    extensions: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> tuple[bytes, str]:
    """A client's opening handshake head and the key it carries (fresh unless given).

    ``host`` is the Host header value (with ``:port`` when not the default);
    ``extensions`` a ready ``Sec-WebSocket-Extensions`` value (e.g.
    :func:`wsframe.deflate.client_offer`).
    """
    _check_str(host, "build_request", "host", " (the Host header value, e.g. 'example.com')")
    _check_str(path, "build_request", "path", " (e.g. '/chat')")
    if "://" in host:
        raise ValueError(
            "build_request() takes the Host header value, not a URI: for %r pass "
            "host='example.com:8765' (the port when not the default) and path='/chat'" % (host,)
        )
    if _SAFE_RE.fullmatch(host) is None:
        raise ValueError("invalid host %r" % (host,))
    if _SAFE_RE.fullmatch(path) is None:
        raise ValueError("invalid request target %r" % (path,))
    if not path.startswith("/") and "://" not in path:
        raise ValueError("the request path must start with '/', got %r" % (path,))
    if key is None:
        key = generate_key()
    else:
        _check_str(key, "build_request", "key", " (or leave it out: a fresh one is made)")
        if not _is_valid_key(key):
            raise ValueError("key must be the base64 of 16 bytes, got %r" % (key,))
    headers = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    subprotocols = list(_subprotocol_list(subprotocols))
    if subprotocols:
        headers.append(("Sec-WebSocket-Protocol", build_subprotocols(subprotocols)))
    if extensions is not None:
        extensions = _header_value(extensions, "build_request", "Sec-WebSocket-Extensions")
    if extensions:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    headers.extend(_headers(extra_headers, "build_request"))
    lines = ["GET %s HTTP/1.1" % path] + _header_lines(headers)
    return _encode(lines), key


def build_response(
    key: str,
    *,
    subprotocol: str | None = None,
    extensions: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The server's ``101 Switching Protocols`` head for a request carrying ``key``.

    ``key`` is the request's ``Sec-WebSocket-Key`` (what :func:`check_request` returns);
    a value that is not the base64 of 16 bytes raises ``ValueError``. ``extensions``: the
    ``Sec-WebSocket-Extensions`` value to send (e.g. the second item of
    :func:`wsframe.deflate.server_negotiate`), a str or a list of str.
    """
    _check_str(key, "build_response", "the key", " (the str check_request() returned)")
    if not _is_valid_key(key):
        raise ValueError(
            "build_response() needs the request's Sec-WebSocket-Key, the base64 of 16 "
            "bytes (24 characters), got %r: pass what check_request() returned" % (key[:100],)
        )
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        _check_str(subprotocol, "build_response", "subprotocol", " (the one subprotocol chosen)")
        if not _is_token(subprotocol):
            raise ValueError("subprotocol %r is not a token" % (subprotocol,))
        headers.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions is not None:
        extensions = _header_value(extensions, "build_response", "Sec-WebSocket-Extensions")
    if extensions:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    headers.extend(_headers(extra_headers, "build_response"))
    lines = ["HTTP/1.1 101 Switching Protocols"] + _header_lines(headers)
    return _encode(lines)


def build_error_response(
    status: int, reason: str, *, extra_headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete error response (head and a short ``text/plain`` body saying why).

    For 426 Upgrade Required it carries ``Sec-WebSocket-Version: 13`` (RFC 6455 section
    4.4). The connection is to be closed after it (``Connection: close``).
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(
            "build_error_response() takes the status as int (e.g. exc.status of a "
            "HandshakeError), not %s" % _type_name(status)
        )
    if not 200 <= status <= 599:
        raise ValueError("an error response needs a status in 200-599, got %r" % (status,))
    _check_str(reason, "build_error_response", "the reason", " (e.g. str(exc))")
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = (str(reason) + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    if status == 426:
        # RFC 7230 6.7: a 426 carries Upgrade, listed in Connection.
        headers.append(("Connection", "Upgrade, close"))
        headers.append(("Upgrade", "websocket"))
        headers.append(("Sec-WebSocket-Version", "13"))
    else:
        headers.append(("Connection", "close"))
    headers.extend(_headers(extra_headers, "build_error_response"))
    lines = ["HTTP/1.1 %d %s" % (status, phrase)] + _header_lines(headers)
    return _encode(lines) + body
