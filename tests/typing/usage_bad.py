"""Wrong calls a new user makes: mypy must flag each line marked ``# E: <code>`` with that
error code, and nothing else (tests/test_typing.py). Never run, only type-checked."""

import wsframe
import wsframe.integrations
from wsframe import deflate, handshake

decoder = wsframe.FrameDecoder("server")
encoder = wsframe.FrameEncoder("server")

decoder.feed("hello")  # E: arg-type
encoder.text(b"x")  # E: arg-type
encoder.close(1000, b"r")  # E: arg-type
encoder.close("1000")  # E: arg-type
wsframe.FrameDecoder("srv")  # E: arg-type
wsframe.FrameDecoder("server", extensions=["permessage-deflate"])  # E: list-item
wsframe.FrameDecoder("server", text="utf8")  # E: arg-type
wsframe.FrameDecoder("server", 1 << 20)  # E: call-arg|misc
wsframe.FrameDecoder(max_size=1024)  # E: call-arg
wsframe.FrameEncoder("client", mask=True)  # E: call-arg
wsframe.apply_mask("data", b"abcd")  # E: arg-type
wsframe.validate_utf8("text")  # E: arg-type
wsframe.set_path("simd")  # E: arg-type
for event in decoder.feed(b""):
    event.code  # E: attr-defined
    event.data.upper() + "!"  # E: operator
    event.fin = False  # E: misc
header = wsframe.parse_header(b"\x81\x00")
header.length  # E: union-attr

handshake.check_request("GET", "Host: x")  # E: arg-type
handshake.check_request(b"GET", [])  # E: arg-type
handshake.parse_request("GET / HTTP/1.1\r\n\r\n")  # E: arg-type
handshake.build_response(b"dGhlIHNhbXBsZSBub25jZQ==")  # E: arg-type
handshake.build_request("x", subprotocols=None)  # E: arg-type
deflate.server_negotiate(b"permessage-deflate")  # E: arg-type
deflate.PerMessageDeflate("server", level="9")  # E: arg-type
wsframe.integrations.install(["wsproto"])  # E: arg-type
