"""websockets' Frame.serialize / Frame.parse, with and without wsframe's replacements.

Differential: each case runs with websockets' own code, then again with
``install("websockets", force=True)``, and must give the same bytes, the same frames,
the same exceptions (type, message, chained cause) and, for the parser, the same
generator protocol (it waits for more data at the same byte offsets). Masks are made
deterministic by patching ``secrets.token_bytes``, as websockets' own tests do.
"""

import array
import itertools
import random
import struct
import unittest.mock
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsframe
import wsframe.integrations as wi

from .conftest import require

LENGTHS = (0, 1, 4, 5, 125, 126, 127, 128, 1000, 65535, 65536, 70000)
# The first key is what a single serialize() gets: not the all-zero key (masking would be
# a copy and a masking bug would go unseen).
KEYS = (b"\x37\xfa\x21\x3d", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff")


@pytest.fixture
def ws():
    integ = require("websockets")
    from websockets import frames

    was = integ.installed
    integ.uninstall()
    yield frames
    integ.uninstall()
    if was:
        integ.install(force=True)


def _install():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replaced = wi.get("websockets").install(force=True)
    assert "websockets.frames.Frame.serialize" in replaced
    assert "websockets.frames.Frame.parse" in replaced


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:
        cause = exc.__cause__
        return (
            "error",
            type(exc),
            str(exc),
            None if cause is None else (type(cause), str(cause)),
        )
    return ("ok", value)


def both(fn):
    """(without, with): the outcome of ``fn()`` with websockets' code, then with ours."""
    integ = wi.get("websockets")
    integ.uninstall()
    without = _outcome(fn)
    _install()
    try:
        with_ = _outcome(fn)
    finally:
        integ.uninstall()
    return without, with_


def assert_same(fn):
    without, with_ = both(fn)
    assert without == with_
    return without


def _keys(*keys):
    """Patch secrets.token_bytes to return these keys in turn (then cycle)."""
    cycle = itertools.cycle(keys)
    return unittest.mock.patch("secrets.token_bytes", side_effect=lambda n: next(cycle))


def _serialize(frame, mask, extensions=None, keys=KEYS):
    def run():
        with _keys(*keys):
            out = frame.serialize(mask=mask, extensions=extensions)
        assert type(out) is bytes
        return out

    return run


def _parse(frames, data, mask, max_size=None, extensions=None):
    """Parse with websockets' StreamReader fed at once; returns the frame."""
    from websockets.streams import StreamReader

    def run():
        reader = StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        gen = frames.Frame.parse(
            reader.read_exact, mask=mask, max_size=max_size, extensions=extensions
        )
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
        raise AssertionError("parser did not finish")

    return run


def _parse_bytewise(frames, data, mask, max_size=None, extensions=None):
    """Feed one byte at a time; record where the parser waits, and what it returns."""
    from websockets.streams import StreamReader

    def run():
        reader = StreamReader()
        gen = frames.Frame.parse(
            reader.read_exact, mask=mask, max_size=max_size, extensions=extensions
        )
        waits = []
        for i in range(len(data) + 1):
            if i:
                reader.feed_data(data[i - 1 : i])
            try:
                next(gen)
            except StopIteration as stop:
                return waits, stop.value, bytes(reader.buffer)
            except Exception as exc:
                return waits, ("raised at", i, type(exc), str(exc)), None
            waits.append(i)
        reader.feed_eof()
        try:
            next(gen)
        except StopIteration as stop:
            return waits, stop.value, None
        except Exception as exc:
            return waits, ("eof", type(exc), str(exc)), None
        raise AssertionError("parser still waiting after EOF")

    return run


def _wire(opcode, payload, key=None, fin=True, rsv=0, length_form=None):
    """Frame bytes built by hand (length_form forces a longer length encoding)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if key is not None else 0
    form = length_form or (7 if n < 126 else 16 if n < 65536 else 64)
    if form == 7:
        head += bytes([mbit | n])
    elif form == 16:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if key is None:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


# ------------------------------------------------------------------------- install


def test_install_replaces_serialize_and_parse_by_default(ws):
    integ = wi.get("websockets")
    if wsframe.implementation != "c":
        pytest.skip("install() without force needs the C extension")
    original_serialize = ws.Frame.__dict__["serialize"]
    original_parse = ws.Frame.__dict__["parse"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replaced = integ.install()
    try:
        assert "websockets.frames.Frame.serialize" in replaced
        assert "websockets.frames.Frame.parse" in replaced
        assert ws.Frame.__dict__["serialize"].__wrapped__ is original_serialize
        assert isinstance(ws.Frame.__dict__["parse"], classmethod)
        assert ws.Frame.__dict__["parse"].__func__.__wrapped__ is original_parse.__func__
    finally:
        integ.uninstall()
    assert ws.Frame.__dict__["serialize"] is original_serialize
    assert ws.Frame.__dict__["parse"] is original_parse


# ----------------------------------------------------------------------- serialize


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mask", [False, True])
def test_serialize_every_length_form(ws, length, mask):
    payload = bytes(random.Random(length).getrandbits(8) for _ in range(length))
    for opcode in (ws.Opcode.TEXT, ws.Opcode.BINARY, ws.Opcode.CONT):
        for fin in (True, False):
            frame = ws.Frame(opcode, payload, fin=fin)
            out = assert_same(_serialize(frame, mask))
            assert out[0] == "ok"


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
@pytest.mark.parametrize("mask", [False, True])
def test_serialize_payload_types(ws, kind, mask):
    for length in (0, 3, 200, 70000):
        frame = ws.Frame(ws.Opcode.BINARY, kind(b"\xa5" * length))
        assert assert_same(_serialize(frame, mask))[0] == "ok"


def _strided(data):
    doubled = bytearray(2 * len(data))
    doubled[::2] = data
    return memoryview(doubled)[::2]


@pytest.mark.parametrize(
    "view",
    [
        _strided,  # not contiguous: websockets' own path decides
        lambda data: memoryview(array.array("I", data[: len(data) & ~3])),  # 4-byte items
        lambda data: memoryview(bytearray(data)).cast("B", (1, len(data))),  # 2-D
    ],
    ids=["strided", "uint32", "2d"],
)
@pytest.mark.parametrize("mask", [False, True])
def test_serialize_other_memoryviews(ws, view, mask):
    for length in (2, 4, 200, 70000):
        frame = ws.Frame(ws.Opcode.BINARY, view(b"\xa5\x01" * (length // 2)))
        assert_same(_serialize(frame, mask))


def test_serialize_control_frames_and_errors(ws):
    cases = [
        ws.Frame(ws.Opcode.PING, b""),
        ws.Frame(ws.Opcode.PING, b"x" * 125),
        ws.Frame(ws.Opcode.PONG, b"pong"),
        ws.Frame(ws.Opcode.CLOSE, b"\x03\xe8bye"),
        ws.Frame(ws.Opcode.PING, b"x" * 126),  # control frame too long
        ws.Frame(ws.Opcode.CLOSE, b"", fin=False),  # fragmented control frame
        ws.Frame(ws.Opcode.TEXT, b"x", rsv1=True),  # reserved bits must be 0
        ws.Frame(ws.Opcode.TEXT, b"x", rsv2=True),
        ws.Frame(ws.Opcode.TEXT, b"x", rsv3=True),
    ]
    outcomes = [assert_same(_serialize(frame, mask)) for frame in cases for mask in (0, 1)]
    assert [o[0] for o in outcomes].count("error") == 10


def test_serialize_odd_keys_and_opcodes(ws):
    frame = ws.Frame(ws.Opcode.TEXT, b"Spam")
    for keys in ([b"abc"], [b""], [b"abcde"], [bytearray(b"abcd")], ["abcd"], [None]):
        assert_same(_serialize(frame, True, keys=keys))
    # An opcode websockets does not define: its own struct packing decides.
    for opcode in (3, 0x0F, 0x10, 300):
        odd = ws.Frame(opcode, b"x")
        assert_same(_serialize(odd, False))
        assert_same(_serialize(odd, True))


def test_serialize_randomness_source_is_secrets_token_bytes(ws):
    """Unpatched: a fresh key per frame, at the same place, unmasking to the payload."""
    payload = b"wsframe" * 50
    frame = ws.Frame(ws.Opcode.TEXT, payload)
    _install()
    try:
        calls = []
        import secrets

        real = secrets.token_bytes

        def spy(n):
            calls.append(n)
            return real(n)

        with unittest.mock.patch("secrets.token_bytes", side_effect=spy):
            a = frame.serialize(mask=True)
            b = frame.serialize(mask=True)
        frame.serialize(mask=False)
    finally:
        wi.get("websockets").uninstall()
    assert calls == [4, 4]
    for out in (a, b):
        assert out[:4] == b"\x81\xfe" + struct.pack("!H", len(payload))
        key = out[4:8]
        assert bytes(c ^ key[i % 4] for i, c in enumerate(out[8:])) == payload


@settings(max_examples=200, deadline=None)
@given(
    opcode=st.sampled_from([0, 1, 2, 8, 9, 10]),
    payload=st.binary(max_size=300),
    fin=st.booleans(),
    mask=st.booleans(),
    key=st.binary(min_size=4, max_size=4),
)
def test_serialize_random_frames(opcode, payload, fin, mask, key):
    require("websockets")
    from websockets import frames

    frame = frames.Frame(frames.Opcode(opcode), payload, fin=fin)
    assert_same(_serialize(frame, mask, keys=(key,)))


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mask", [False, True])
def test_parse_every_length_form(ws, length, mask):
    payload = bytes(random.Random(length).getrandbits(8) for _ in range(length))
    forms = [None, 64] + ([16] if length < 65536 else [])
    for form in forms:
        for key in KEYS if mask else (None,):
            data = _wire(0x2, payload, key, length_form=form)
            out = assert_same(_parse(ws, data, mask))
            assert out[0] == "ok" and out[1].data == payload
            assert out[1] == ws.Frame(ws.Opcode.BINARY, payload)


@pytest.mark.parametrize("mask", [False, True])
def test_parse_bytewise_same_waits(ws, mask):
    """The parser waits for more data at the same offsets (same read_exact calls)."""
    key = KEYS[1] if mask else None
    for payload in (b"", b"abc", b"x" * 126, b"y" * 300):
        for form in (None, 16, 64):
            data = _wire(0x1, payload, key, length_form=form)
            out = assert_same(_parse_bytewise(ws, data, mask))
            assert out[0] == "ok"
    # Truncated frames: the same EOFError message, at the same point.
    data = _wire(0x1, b"z" * 130, key)
    for cut in range(len(data)):
        assert_same(_parse_bytewise(ws, data[:cut], mask))


def test_parse_bad_frames(ws):
    cases = []
    for opcode in range(16):
        cases.append((bytes([0x80 | opcode, 0]), False))
        cases.append((bytes([0x80 | opcode, 0x80]) + KEYS[1], True))
    cases += [
        (b"\xc1\x00", False),  # RSV1
        (b"\xa1\x00", False),  # RSV2
        (b"\x91\x00", False),  # RSV3
        (b"\x81\x80\x00\x00\x00\x00", False),  # masked frame to a client
        (b"\x81\x00", True),  # unmasked frame to a server
        (b"\x89\x7e\x00\x7e" + b"a" * 126, False),  # control frame too long
        (b"\x89\x7e\x00\x7d" + b"a" * 125, False),  # (not too long, non-minimal)
        (b"\x09\x00", False),  # fragmented control frame
        (b"\x88\x01\x03", False),  # close payload of 1 byte (parse accepts it)
        (b"\x82\x7f" + struct.pack("!Q", 1 << 63) + b"", False),  # MSB set: too big
    ]
    errors = 0
    for data, mask in cases:
        for max_size in (None, 1 << 20):
            out = assert_same(_parse(ws, data, mask, max_size=max_size))
            errors += out[0] == "error"
    assert errors > 20
    # invalid opcode: ProtocolError chained from the enum's ValueError
    out = assert_same(_parse(ws, b"\x83\x00", False))
    assert out[2] == "invalid opcode" and out[3][0] is ValueError


def test_parse_payload_too_big(ws):
    for length, max_size in ((5, 4), (126, 125), (70000, 65536), (0, 0), (4, 4)):
        for mask in (False, True):
            data = _wire(0x2, b"a" * length, KEYS[1] if mask else None)
            assert_same(_parse(ws, data, mask, max_size=max_size))
            # raised before the key and the payload arrive
            assert_same(_parse_bytewise(ws, data, mask, max_size=max_size))


def test_parse_honours_a_patched_struct_unpack(ws):
    """websockets' own suite patches struct.unpack to simulate an internal error."""

    def run():
        with unittest.mock.patch("struct.unpack", side_effect=RuntimeError("BOOM")):
            return _parse(ws, b"\x81\x00", False)()

    out = assert_same(run)
    assert out[:3] == ("error", RuntimeError, "BOOM")


@settings(max_examples=200, deadline=None)
@given(
    head=st.integers(0, 255),
    length=st.sampled_from([0, 1, 125, 126, 127, 200]),
    form=st.sampled_from([None, 16, 64]),
    mask=st.booleans(),
    server=st.booleans(),
    max_size=st.sampled_from([None, 0, 100, 1 << 20]),
)
def test_parse_random_frames(head, length, form, mask, server, max_size):
    require("websockets")
    from websockets import frames

    payload = bytes(range(256))[:length]
    data = _wire(head & 0x0F, payload, KEYS[1] if mask else None, fin=bool(head & 0x80),
                 rsv=(head >> 4) & 7, length_form=form)
    assert_same(_parse(frames, data, server, max_size=max_size))


# ------------------------------------------------------------------------ extensions


class _Rot13:
    """A symmetrical extension (as in websockets' own frame tests)."""

    def encode(self, frame):
        import codecs
        import dataclasses

        return dataclasses.replace(frame, data=codecs.encode(frame.data.decode(), "rot13").encode())

    def decode(self, frame, *, max_size=None):
        return self.encode(frame)


class _SetRsv2:
    def encode(self, frame):
        import dataclasses

        return dataclasses.replace(frame, rsv2=True)

    def decode(self, frame, *, max_size=None):
        import dataclasses

        assert frame.rsv2
        return dataclasses.replace(frame, rsv2=False)


def _deflate():
    from websockets.extensions.permessage_deflate import PerMessageDeflate

    return PerMessageDeflate(False, False, 15, 15)


def test_extensions_in_order(ws):
    frame = ws.Frame(ws.Opcode.TEXT, b"hello")
    for exts in ([], [_Rot13()], [_SetRsv2()], [_Rot13(), _SetRsv2()], (), None):
        for mask in (False, True):
            out = assert_same(_serialize(frame, mask, extensions=exts))
            assert out[0] == "ok"
            assert_same(_parse(ws, out[1], mask, extensions=exts))
    # reversed() of what websockets reverses, with its errors
    assert_same(_parse(ws, b"\x81\x05hello", False, extensions=set()))
    assert_same(_parse(ws, b"\x81\x05hello", False, extensions={_Rot13()}))


@pytest.mark.parametrize("mask", [False, True])
def test_permessage_deflate_frames(ws, mask):
    """Compressed frames (RSV1, memoryview payloads above 2 kB) through both paths."""
    texts = [b"", b"caf\xc3\xa9", b"a" * 20, b"wsframe " * 500, bytes(range(256)) * 40]
    for fin in (True, False):

        def send():
            ext = _deflate()
            out = []
            with _keys(*KEYS):
                for text in texts:
                    out.append(ws.Frame(ws.Opcode.TEXT, text, fin=True).serialize(
                        mask=mask, extensions=[ext]))
                    out.append(ws.Frame(ws.Opcode.BINARY, text, fin=fin).serialize(
                        mask=mask, extensions=[ext]))
                    if not fin:
                        out.append(ws.Frame(ws.Opcode.CONT, text).serialize(
                            mask=mask, extensions=[ext]))
            return out

        wires = assert_same(send)[1]

        def receive():
            from websockets.streams import StreamReader

            ext = _deflate()
            reader = StreamReader()
            reader.feed_data(b"".join(wires))
            reader.feed_eof()
            got = []
            for _ in wires:
                gen = ws.Frame.parse(reader.read_exact, mask=mask, max_size=1 << 20,
                                     extensions=[ext])
                try:
                    next(gen)
                except StopIteration as stop:
                    got.append(stop.value)
            return got

        got = assert_same(receive)[1]
        assert [bytes(f.data) for f in got if f.opcode == ws.Opcode.TEXT] == texts


def test_permessage_deflate_bomb_and_too_big(ws):
    ext_data = []
    with _keys(*KEYS):
        ext = _deflate()
        ext_data.append(ws.Frame(ws.Opcode.TEXT, b"a" * 100000).serialize(mask=True, extensions=[ext]))
    for max_size in (10, 1000, 99999, 100000):
        # (a fresh extension per run: its decompressor keeps state)
        def run(max_size=max_size):
            return _parse(ws, ext_data[0], True, max_size=max_size, extensions=[_deflate()])()

        assert_same(run)


# ------------------------------------------------------------------------ protocol


def _protocol_run(side, script):
    from websockets.protocol import Protocol, Side

    def run():
        proto = Protocol(getattr(Side, side), max_size=(1 << 20))
        log = []
        with _keys(*KEYS):
            for action, arg in script:
                if action == "recv":
                    proto.receive_data(arg)
                    log.append(("events", proto.events_received()))
                elif action == "eof":
                    proto.receive_eof()
                else:
                    try:
                        getattr(proto, action)(*arg)
                    except Exception as exc:
                        log.append(("raised", type(exc), str(exc)))
                log.append(("out", proto.data_to_send()))
        log.append(("state", proto.state, proto.close_code, proto.close_reason,
                    type(proto.parser_exc), str(proto.parser_exc)))
        return log

    return run


@pytest.mark.parametrize("side", ["CLIENT", "SERVER"])
def test_protocol_sessions(ws, side):
    masked = side == "SERVER"  # what this side receives
    key = KEYS[1] if masked else None
    script = [
        ("send_text", (b"caf\xc3\xa9",)),
        ("send_binary", (b"\x00" * 70000,)),
        ("send_text", (b"frag", False)),
        ("send_ping", (b"p",)),
        ("send_continuation", (b"ment", True)),
        ("recv", _wire(0x1, b"hello", key)),
        ("recv", _wire(0x2, b"\x01" * 200, key)[:50]),
        ("recv", _wire(0x2, b"\x01" * 200, key)[50:]),
        ("recv", _wire(0x9, b"ping", key)),
        ("recv", _wire(0x1, b"\xff\xfe", key)),  # frames carry bytes: not decoded here
        ("send_close", (1000, "bye")),
        ("recv", _wire(0x8, b"\x03\xe8ok", key)),
        ("eof", None),
    ]
    assert assert_same(_protocol_run(side, script))[0] == "ok"
    for bad in (_wire(0x3, b"", key), _wire(0x1, b"x", None if masked else KEYS[0]),
                _wire(0x9, b"x" * 126, key, length_form=16), b"\x81"):
        assert assert_same(_protocol_run(side, [("recv", bad), ("eof", None)]))[0] == "ok"
