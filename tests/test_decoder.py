"""FrameDecoder: every rule of DESIGN.md's strictness table, in both roles, on both
implementations, plus the length forms, fragmentation, limits and splitting."""

import pytest

from wire import close_payload, frame, peer

from wsframe import FRAGMENT_COST, Opcode, ProtocolError

ROLES = ["server", "client"]
TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


def feed_all(decoder, data, step=None):
    """Feed ``data`` whole, or ``step`` bytes at a time; return every event."""
    if step is None:
        return decoder.feed(data)
    events = []
    for i in range(0, len(data), step):
        events += decoder.feed(data[i : i + step])
    return events


def fails(impl, role, data, code, match=None, **options):
    decoder = impl.FrameDecoder(role, **options)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(data)
    assert info.value.code == code, info.value.reason
    if match:
        assert match in info.value.reason
    return info.value


# --- valid input ------------------------------------------------------------------


@pytest.mark.parametrize("step", [None, 1, 3, 7])
def test_messages_and_controls(impl, role, step):
    f = peer(role)
    data = (
        f(TEXT, "héllo wörld €")
        + f(BINARY, b"\x00\xff" * 10)
        + f(PING, b"ping!")
        + f(PONG, b"")
        + f(CLOSE, close_payload(1000, "done"))
    )
    events = feed_all(impl.FrameDecoder(role), data, step)
    assert [(e.opcode, e.data) for e in events[:4]] == [
        (Opcode.TEXT, "héllo wörld €"),
        (Opcode.BINARY, b"\x00\xff" * 10),
        (Opcode.PING, b"ping!"),
        (Opcode.PONG, b""),
    ]
    assert isinstance(events[0].opcode, Opcode)
    close = events[4]
    assert (close.opcode, close.code, close.reason) == (Opcode.CLOSE, 1000, "done")
    assert all(e.fin for e in events)


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70001])
def test_length_forms(impl, role, length):
    payload = bytes(range(256)) * (length // 256 + 1)
    payload = payload[:length]
    data = peer(role)(BINARY, payload)
    decoder = impl.FrameDecoder(role, max_message_size=1 << 20)
    assert [e.data for e in decoder.feed(data)] == [payload]
    # and dribbled: a header split anywhere, the payload in pieces
    decoder = impl.FrameDecoder(role, max_message_size=1 << 20)
    assert [e.data for e in feed_all(decoder, data, 4099)] == [payload]


def test_declared_2_63_minus_1_is_rejected_by_the_limit(impl, role):
    data = peer(role)(BINARY, b"", length=(1 << 63) - 1, length_form=64)
    err = fails(impl, role, data[:14], 1009)
    assert str((1 << 63) - 1) in err.reason


def test_fragmented_with_controls_between(impl, role):
    f = peer(role)
    data = (
        f(TEXT, "frag", fin=False)
        + f(PING, b"1")
        + f(CONT, "men", fin=False)
        + f(PONG, b"2")
        + f(CONT, "ted")
        + f(BINARY, b"a", fin=False)
        + f(CLOSE, b"")
    )
    events = impl.FrameDecoder(role).feed(data)
    assert [(e.opcode, e.data) for e in events] == [
        (Opcode.PING, b"1"),
        (Opcode.PONG, b"2"),
        (Opcode.TEXT, "fragmented"),
        (Opcode.CLOSE, b""),
    ]
    assert events[3].code is None and events[3].reason == ""


def test_text_split_inside_a_character_across_fragments(impl, role):
    f = peer(role)
    snowman = "☃".encode()
    data = f(TEXT, snowman[:1], fin=False) + f(CONT, snowman[1:2], fin=False) + f(CONT, snowman[2:])
    for step in (None, 1):
        events = feed_all(impl.FrameDecoder(role), data, step)
        assert [e.data for e in events] == ["☃"]


def test_empty_fragments(impl, role):
    f = peer(role)
    data = f(BINARY, b"", fin=False) + f(CONT, b"", fin=False) + f(CONT, b"x") + f(TEXT, "")
    events = impl.FrameDecoder(role).feed(data)
    assert [e.data for e in events] == [b"x", ""]


def test_text_as_bytes(impl, role):
    f = peer(role)
    data = f(TEXT, "é") + f(TEXT, "a", fin=False) + f(CONT, "b")
    events = impl.FrameDecoder(role, text="bytes").feed(data)
    assert [(e.opcode, e.data) for e in events] == [
        (Opcode.TEXT, "é".encode()),
        (Opcode.TEXT, b"ab"),
    ]
    fails(impl, role, f(TEXT, b"\xc3"), 1007, text="bytes")
    fails(impl, role, f(TEXT, b"a\xff"), 1007, "byte 1", text="bytes")


def test_unassembled_frames(impl, role):
    f = peer(role)
    data = f(TEXT, "ab", fin=False) + f(PING, b"p") + f(CONT, "cd") + f(BINARY, b"z")
    events = impl.FrameDecoder(role, assemble=False).feed(data)
    assert [(e.opcode, e.data, e.fin, e.rsv1) for e in events] == [
        (Opcode.TEXT, b"ab", False, False),
        (Opcode.PING, b"p", True, False),
        (Opcode.CONTINUATION, b"cd", True, False),
        (Opcode.BINARY, b"z", True, False),
    ]


def test_unassembled_still_validates_text_across_frames(impl, role):
    f = peer(role)
    data = f(TEXT, b"\xe2\x82", fin=False) + f(CONT, b"A")
    err = fails(impl, role, data, 1007, assemble=False)
    assert "byte 2" in err.reason


def test_event_repr_and_equality(impl, role):
    f = peer(role)
    a = impl.FrameDecoder(role).feed(f(TEXT, "x") + f(CLOSE, close_payload(1001)))
    b = impl.FrameDecoder(role).feed(f(TEXT, "x") + f(CLOSE, close_payload(1001)))
    assert a == b
    assert "TEXT" in repr(a[0]) and "1001" in repr(a[1])
    assert a[0] != a[1]


def test_closed_property(impl, role):
    decoder = impl.FrameDecoder(role)
    assert not decoder.closed
    decoder.feed(peer(role)(CLOSE, close_payload(1000)))
    assert decoder.closed


# --- the strictness table -----------------------------------------------------------


@pytest.mark.parametrize("rsv", [1, 2, 4, 7])
def test_rsv_without_extension(impl, role, rsv):
    fails(impl, role, peer(role)(TEXT, "a", rsv=rsv), 1002, "RSV")


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcode(impl, role, opcode):
    fails(impl, role, peer(role)(opcode, b""), 1002, "reserved opcode")


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_too_long(impl, role, opcode):
    fails(impl, role, peer(role)(opcode, b"x" * 126), 1002, "exceeds 125")


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_fragmented(impl, role, opcode):
    fails(impl, role, peer(role)(opcode, b"", fin=False), 1002, "fragmented control")


def test_masking_rules(impl):
    fails(impl, "server", frame(TEXT, "a", key=None), 1002, "unmasked")
    fails(impl, "client", frame(TEXT, "a"), 1002, "masked")


def test_masking_leniency_switch(impl):
    for role, data in (("server", frame(TEXT, "a", key=None)), ("client", frame(TEXT, "a"))):
        decoder = impl.FrameDecoder(role, allow_any_masking=True)
        assert [e.data for e in decoder.feed(data)] == ["a"]


def test_length_msb_set(impl, role):
    data = peer(role)(BINARY, b"", length=1 << 63, length_form=64)
    fails(impl, role, data, 1002, "most significant bit")


@pytest.mark.parametrize("length,form", [(0, 16), (125, 16), (0, 64), (65535, 64), (126, 64)])
def test_non_minimal_length(impl, role, length, form):
    data = peer(role)(BINARY, b"x" * length, length_form=form)
    fails(impl, role, data, 1002, "shortest form")
    decoder = impl.FrameDecoder(role, allow_nonminimal_length=True)
    assert [len(e.data) for e in decoder.feed(data)] == [length]


def test_continuation_without_message(impl, role):
    fails(impl, role, peer(role)(CONT, b"x"), 1002, "continuation")


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_data_frame_inside_fragmented_message(impl, role, opcode):
    f = peer(role)
    fails(impl, role, f(BINARY, b"a", fin=False) + f(opcode, b"b"), 1002, "unfinished")


@pytest.mark.parametrize(
    "payload,offset",
    [
        (b"\xff", 0),
        (b"ab\xc0\xaf", 2),  # overlong '/'
        (b"\xe0\x80\xaf", 1),  # overlong, 3 bytes
        (b"\xf0\x80\x80\xaf", 1),  # overlong, 4 bytes
        (b"\xed\xa0\x80", 1),  # surrogate U+D800
        (b"\xed\xbf\xbf", 1),  # surrogate U+DFFF
        (b"\xf4\x90\x80\x80", 1),  # U+110000
        (b"\xf5\x80\x80\x80", 0),
        (b"a\x80", 1),  # stray continuation
        (b"\xc3\x28", 1),
        (b"\xe2\x82\x28", 2),
    ],
)
def test_invalid_utf8(impl, role, payload, offset):
    f = peer(role)
    for data in (f(TEXT, payload), f(TEXT, b"", fin=False) + f(CONT, payload)):
        for step in (None, 1):
            decoder = impl.FrameDecoder(role)
            with pytest.raises(ProtocolError) as info:
                feed_all(decoder, data, step)
            assert info.value.code == 1007
            assert "byte %d" % offset in info.value.reason


@pytest.mark.parametrize("payload", [b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"ok\xf4\x8f\xbf"])
def test_truncated_utf8_at_message_end(impl, role, payload):
    f = peer(role)
    fails(impl, role, f(TEXT, payload), 1007, "inside a UTF-8 sequence")
    fails(impl, role, f(TEXT, payload, fin=False) + f(CONT, b""), 1007)


def test_utf8_fails_fast_before_the_frame_ends(impl, role):
    """The first impossible byte raises at once, though the frame is unfinished."""
    data = peer(role)(TEXT, b"valid text \xff" + b"x" * 1000)
    decoder = impl.FrameDecoder(role)
    decoder.feed(data[:10])
    with pytest.raises(ProtocolError) as info:
        decoder.feed(data[10:30])  # header + 12 payload bytes: the 0xff is in
    assert info.value.code == 1007 and "byte 11" in info.value.reason


def test_utf8_fails_fast_across_fragments(impl, role):
    f = peer(role)
    decoder = impl.FrameDecoder(role)
    assert decoder.feed(f(TEXT, "ok", fin=False)) == []
    with pytest.raises(ProtocolError) as info:
        decoder.feed(f(CONT, b"\xed\xa0", fin=False))
    assert info.value.code == 1007 and "byte 3" in info.value.reason


@pytest.mark.parametrize(
    "payload,code,match",
    [
        (b"\x03", 1002, "1 byte"),
        (close_payload(999), 1002, "999"),
        (close_payload(1004), 1002, "1004"),
        (close_payload(1005), 1002, "1005"),
        (close_payload(1006), 1002, "1006"),
        (close_payload(1015), 1002, "1015"),
        (close_payload(1100), 1002, "1100"),
        (close_payload(2999), 1002, "2999"),
        (close_payload(5000), 1002, "5000"),
        (close_payload(1000, b"\xff"), 1007, "UTF-8"),
    ],
)
def test_invalid_close_payload(impl, role, payload, code, match):
    fails(impl, role, peer(role)(CLOSE, payload), code, match)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999])
def test_valid_close_codes(impl, role, code):
    [event] = impl.FrameDecoder(role).feed(peer(role)(CLOSE, close_payload(code, "é")))
    assert (event.code, event.reason) == (code, "é")


def test_any_close_code_switch(impl, role):
    data = peer(role)(CLOSE, close_payload(1005))
    [event] = impl.FrameDecoder(role, allow_any_close_code=True).feed(data)
    assert event.code == 1005
    fails(impl, role, peer(role)(CLOSE, close_payload(5000)), 1002, allow_any_close_code=True)


def test_frame_over_limit_from_declared_length(impl, role):
    head = peer(role)(BINARY, b"", length=1001)[:8]  # only the header arrives
    fails(impl, role, head, 1009, "frame of 1001 bytes", max_frame_size=1000)
    fails(impl, role, head, 1009, "1001 bytes exceeds the limit of 1000", max_message_size=1000)


def test_message_over_limit_across_fragments(impl, role):
    f = peer(role)
    data = f(BINARY, b"x" * 600, fin=False) + f(CONT, b"y" * 600)[:8]
    fails(impl, role, data, 1009, "exceeds the limit of 1000", max_message_size=1000)


def test_message_at_the_limit_is_accepted(impl, role):
    f = peer(role)
    data = f(BINARY, b"x" * 500, fin=False) + f(CONT, b"y" * (500 - FRAGMENT_COST))
    assert len(impl.FrameDecoder(role, max_message_size=1000).feed(data)[0].data) == 1000 - FRAGMENT_COST


def test_flood_of_empty_fragments(impl, role):
    f = peer(role)
    limit = 64 * 1024
    empty = f(CONT, b"", fin=False)
    decoder = impl.FrameDecoder(role, max_message_size=limit)
    decoder.feed(f(BINARY, b"", fin=False))
    with pytest.raises(ProtocolError) as info:
        for _ in range(limit // FRAGMENT_COST + 2):
            decoder.feed(empty * 64)
    assert info.value.code == 1009


def test_frame_after_close(impl, role):
    f = peer(role)
    for after in (f(TEXT, "late"), f(PING, b""), b"\x81"):
        fails(impl, role, f(CLOSE, b"") + after, 1002, "after the close")


def test_failed_decoder_stays_failed(impl, role):
    f = peer(role)
    decoder = impl.FrameDecoder(role)
    with pytest.raises(ProtocolError):
        decoder.feed(f(7, b""))
    with pytest.raises(ProtocolError) as info:
        decoder.feed(f(TEXT, "fine"))
    assert info.value.code == 1002 and info.value.events == []


def test_events_before_the_error_ride_on_the_exception(impl, role):
    f = peer(role)
    decoder = impl.FrameDecoder(role)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(f(TEXT, "first") + f(PING, b"") + f(7, b""))
    assert [e.data for e in info.value.events] == ["first", b""]


def test_feed_accepts_any_bytes_like(impl, role):
    data = peer(role)(BINARY, b"abc")
    for wrapped in (bytearray(data), memoryview(data)):
        assert impl.FrameDecoder(role).feed(wrapped)[0].data == b"abc"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"role": "peer"},
        {"text": "unicode"},
        {"max_message_size": 0},
        {"max_message_size": None},
        {"max_frame_size": -1},
    ],
)
def test_bad_options(impl, kwargs):
    kwargs.setdefault("role", "server")
    with pytest.raises(ValueError):
        impl.FrameDecoder(**kwargs)
