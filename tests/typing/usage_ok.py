"""Typed use of wsframe's public API: mypy --strict must find nothing here
(tests/test_typing.py). Never run, only type-checked."""

from __future__ import annotations

import wsframe
import wsframe.integrations
from wsframe import deflate, handshake


def on_bytes(decoder: wsframe.FrameDecoder, encoder: wsframe.FrameEncoder, data: bytes) -> bytes:
    out: list[bytes] = []
    try:
        events = decoder.feed(data)
    except wsframe.ProtocolError as exc:
        code: int = exc.code
        return encoder.close(code, exc.reason)
    for event in events:
        if isinstance(event, wsframe.Close):
            out.append(encoder.close(event.code))
        elif isinstance(event.data, str):
            out.append(encoder.text(event.data.upper()))
        elif event.opcode == wsframe.Opcode.PING:
            out.append(encoder.pong(event.data))
        else:
            out.append(encoder.binary(event.data))
    return b"".join(out)


def codec() -> None:
    decoder = wsframe.FrameDecoder("server", max_message_size=4 << 20, text="bytes")
    lenient = wsframe.FrameDecoder(
        "client", assemble=False, allow_any_masking=True, allow_any_close_code=True
    )
    encoder = wsframe.FrameEncoder("client", max_frame_size=4096)
    on_bytes(decoder, wsframe.FrameEncoder(), encoder.text("hi"))
    frames: list[wsframe.Frame] = lenient.feed(bytearray(b"\x81\x00"))
    fin: bool = frames[0].fin if frames else True
    parts = encoder.encode_parts(wsframe.Opcode.BINARY, memoryview(b"x"), fin=fin)
    assert len(parts) >= 1
    encoder.encode(wsframe.Opcode.TEXT, "part", fin=False)
    closed: bool = decoder.closed
    limit: int = decoder.max_message_size + wsframe.DEFAULT_MAX_MESSAGE_SIZE + wsframe.FRAGMENT_COST
    assert closed or limit


def primitives() -> None:
    key: bytes = wsframe.random_mask()
    masked: bytes = wsframe.apply_mask(b"data", key, offset=1)
    buf = bytearray(masked)
    wsframe.apply_mask_inplace(buf, key, 1)
    wsframe.apply_mask_into(bytearray(4), buf, key)
    ok: bool = wsframe.validate_utf8(memoryview(b"caf\xc3\xa9"))
    validator = wsframe.Utf8Validator()
    ok = validator.feed(b"\xc3") and validator.complete
    where: int | None = validator.error_offset
    header = wsframe.parse_header(wsframe.encode_header(wsframe.Opcode.TEXT, 5, mask=key))
    if header is not None:
        length: int = header.length + header.size
        masked_key: bytes | None = header.key
        assert length and masked_key
    code, reason = wsframe.parse_close(wsframe.build_close(1000, "bye"))
    paths: dict[str, str] = wsframe.cpu_paths()
    wsframe.set_path("mask", wsframe.available_paths("mask")[-1])
    impl: str = wsframe.implementation
    assert ok and where is None and code == 1000 and reason and paths and impl


def handshakes() -> bytes:
    request, key = handshake.build_request("example.com", "/chat", subprotocols=["chat"])
    method, target, headers = handshake.parse_request(request)
    try:
        client_key = handshake.check_request(method, headers)
    except wsframe.HandshakeError as exc:
        return handshake.build_error_response(exc.status, str(exc))
    handshake.check_request("GET", {"Host": "example.com"})
    handshake.check_request("GET", [(b"host", b"example.com")])  # ASGI's scope["headers"]
    offers = handshake.header_values(headers, "Sec-WebSocket-Extensions")
    pmd, value = deflate.server_negotiate(offers, server_no_context_takeover=True, level=1)
    response = handshake.build_response(client_key, subprotocol="chat", extensions=value)
    status, _, response_headers = handshake.parse_response(response)
    handshake.check_response(status, response_headers, key)
    client = deflate.client_accept(
        deflate.client_offer(), handshake.header_values(response_headers, "Sec-WebSocket-Extensions")
    )
    if pmd is not None and client is not None:
        wsframe.FrameDecoder("server", extensions=[pmd])
        wsframe.FrameEncoder("client", extensions=(client,))
    return response


def integrations() -> None:
    done: dict[str, tuple[str, ...]] = wsframe.integrations.install("wsproto", force=False)
    names: list[str] = wsframe.integrations.uninstall()
    assert done or names or wsframe.integrations.available()
    assert wsframe.integrations.get("websockets").known_version("17.4") in (True, False)
