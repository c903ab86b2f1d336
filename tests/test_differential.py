"""Hypothesis: the C and Python implementations agree on every input, split anywhere;
random valid streams decode to what was sent; random bytes raise only ProtocolError."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wire import frame, split

from wsframe import ProtocolError

ROLES = st.sampled_from(["server", "client"])
SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def as_tuple(event):
    return (
        type(event).__name__,
        int(event.opcode),
        event.data,
        event.fin,
        event.rsv1,
        getattr(event, "code", None),
        getattr(event, "reason", None),
    )


def run(impl, role, chunks, **options):
    """Every event and the error (code, reason) or None, feeding ``chunks`` in order."""
    decoder = impl.FrameDecoder(role, **options)
    events = []
    for chunk in chunks:
        try:
            events += decoder.feed(chunk)
        except ProtocolError as exc:
            events += exc.events
            return [as_tuple(e) for e in events], (exc.code, exc.reason)
    return [as_tuple(e) for e in events], None


# Bytes that often look like frame headers, so random input gets past the first byte.
HEADERISH = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"\x81", b"\x01", b"\x80", b"\x82\x85", b"\x88\x82\x03\xe8", b"\x89\x00",
                         b"\xc1", b"\x00", b"\xe2\x82", b"\xed\xa0", b"\xff", b"\x7e", b"\xfe\x00\x7e"]),
    ),
    max_size=30,
).map(b"".join)

OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "max_message_size": st.integers(1, 300),
        "assemble": st.booleans(),
        "text": st.sampled_from(["str", "bytes"]),
        "allow_any_masking": st.booleans(),
        "allow_nonminimal_length": st.booleans(),
    },
)


@SETTINGS
@given(role=ROLES, data=HEADERISH, cuts=st.lists(st.integers(0, 2000), max_size=8), options=OPTIONS)
def test_random_bytes_same_result_in_c_and_python(both, role, data, cuts, options):
    c, py = both
    chunks = split(data, cuts)
    assert run(c, role, chunks, **options) == run(py, role, chunks, **options)


@SETTINGS
@given(role=ROLES, data=HEADERISH, cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_result_does_not_depend_on_splits(impl, role, data, cuts):
    assert run(impl, role, split(data, cuts)) == run(impl, role, [data])


TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def messages(draw):
    """(opcode, payload, fragment sizes, interleaved pings)."""
    if draw(st.booleans()):
        op, payload = 1, draw(TEXTS).encode()
    else:
        op, payload = 2, draw(st.binary(max_size=300))
    sizes = draw(st.lists(st.integers(0, 40), max_size=5))
    ping = draw(st.one_of(st.none(), st.binary(max_size=125)))
    return op, payload, sizes, ping


def wire_stream(role, msgs):
    key = {"server": b"\x01\x02\x03\x04", "client": None}[role]
    out, expected = [], []
    for op, payload, sizes, ping in msgs:
        pos, first = 0, True
        for size in sizes:
            out.append(frame(op if first else 0, payload[pos : pos + size], fin=False, key=key))
            pos += size
            first = False
            if ping is not None:
                out.append(frame(9, ping, key=key))
                expected.append((9, ping))
        out.append(frame(op if first else 0, payload[pos:], key=key))
        expected.append((op, payload.decode() if op == 1 else payload))
    return b"".join(out), expected


@SETTINGS
@given(role=ROLES, msgs=st.lists(messages(), max_size=6), cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_valid_streams_decode_whatever_the_splits(impl, role, msgs, cuts):
    data, expected = wire_stream(role, msgs)
    events, error = run(impl, role, split(data, cuts))
    assert error is None
    assert [(e[1], e[2]) for e in events] == expected


@SETTINGS
@given(msgs=st.lists(st.one_of(TEXTS, st.binary(max_size=2000)), max_size=8),
       frame_size=st.one_of(st.none(), st.integers(1, 100)), step=st.integers(1, 500))
def test_round_trip_both_roles(impl, msgs, frame_size, step):
    for role, peer_role in (("client", "server"), ("server", "client")):
        enc = impl.FrameEncoder(role, max_frame_size=frame_size)
        data = b"".join(enc.text(m) if isinstance(m, str) else enc.binary(m) for m in msgs)
        events, error = run(impl, peer_role, [data[i : i + step] for i in range(0, len(data), step)])
        assert error is None
        assert [e[2] for e in events] == msgs


@pytest.mark.parametrize("role", ["server", "client"])
def test_random_bytes_raise_only_protocol_error(impl, role):
    import random

    rng = random.Random(1)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        decoder = impl.FrameDecoder(role, allow_any_masking=rng.random() < 0.5)
        try:
            for i in range(0, len(data), 7):
                decoder.feed(data[i : i + 7])
        except ProtocolError:
            pass
