"""permessage-deflate through the codec: FrameEncoder/FrameDecoder with
``extensions=[pmd]``, on both implementations (the ``impl`` fixture)."""

import gc
import random
import tracemalloc
import zlib

import pytest

from wire import client as client_frame
from wire import server as server_frame

from wsframe import Opcode, ProtocolError
from wsframe.deflate import PerMessageDeflate, available_backends, client_accept, client_offer, server_negotiate

MiB = 1 << 20
RSV1 = 4  # wire.frame's rsv argument is the three bits as 0..7


def connected(impl, *, backend="auto", encoder_options=None, decoder_options=None, **agreed):
    """Both ends of a connection after a real negotiation: (client, server) where each
    is (encoder, decoder, pmd)."""
    offer = client_offer(
        server_no_context_takeover=agreed.get("server_no_context_takeover", False),
        client_no_context_takeover=agreed.get("client_no_context_takeover", False),
        server_max_window_bits=agreed.get("server_max_window_bits"),
        client_max_window_bits=agreed.get("client_max_window_bits", True),
    )
    server_pmd, response = server_negotiate(offer, backend=backend)
    client_pmd = client_accept(offer, response, backend=backend)
    ends = []
    for role, pmd in (("client", client_pmd), ("server", server_pmd)):
        encoder = impl.FrameEncoder(role, extensions=[pmd], **(encoder_options or {}))
        decoder = impl.FrameDecoder(role, extensions=[pmd], **(decoder_options or {}))
        ends.append((encoder, decoder, pmd))
    return ends


def feed(decoder, data, step=None):
    if step is None:
        return decoder.feed(data)
    events = []
    for i in range(0, len(data), step):
        events += decoder.feed(data[i : i + step])
    return events


def json_text(size, seed=0):
    rng = random.Random(seed)
    parts = []
    total = 0
    while total < size:
        part = '{"id":%d,"name":"user%04d","score":%.3f,"tags":["a","b%d"]},' % (
            total,
            rng.randrange(10000),
            rng.random(),
            rng.randrange(50),
        )
        parts.append(part)
        total += len(part)
    return "".join(parts)[:size]


@pytest.fixture(params=["client", "server"])
def sender(request):
    return request.param


def sides(ends, sender):
    """(encoder of the sender, decoder of its peer)."""
    client, server = ends
    if sender == "client":
        return client[0], server[1]
    return server[0], client[1]


def test_compressed_messages_both_ways(impl, sender):
    encoder, decoder = sides(connected(impl), sender)
    text = json_text(5000)
    data = encoder.text(text)
    assert data[0] == 0x80 | 0x40 | Opcode.TEXT  # FIN, RSV1, text
    assert len(data) < 2500
    blob = bytes(range(256)) * 40
    events = decoder.feed(data + encoder.binary(blob))
    assert [(e.opcode, e.data) for e in events] == [(Opcode.TEXT, text), (Opcode.BINARY, blob)]
    assert not any(e.rsv1 for e in events)


def test_small_messages_are_not_compressed(impl, sender):
    encoder, decoder = sides(connected(impl), sender)
    data = encoder.text("x" * 127)
    assert data[0] == 0x80 | Opcode.TEXT  # below the 128-byte threshold: no RSV1
    assert data[0] & 0x40 == 0
    big = encoder.text("x" * 128)
    assert big[0] & 0x40
    events = decoder.feed(data + big)
    assert [e.data for e in events] == ["x" * 127, "x" * 128]


@pytest.mark.parametrize("step", [1, 7, 1000])
def test_byte_by_byte(impl, sender, step):
    encoder, decoder = sides(connected(impl), sender)
    texts = [json_text(3000, seed) for seed in range(4)]
    wire = b"".join(encoder.text(t) for t in texts) + encoder.ping(b"p")
    events = feed(decoder, wire, step)
    assert [e.data for e in events] == texts + [b"p"]


@pytest.mark.parametrize("snct", [False, True])
@pytest.mark.parametrize("cnct", [False, True])
@pytest.mark.parametrize("wbits", [8, 9, 12, 15])
def test_context_takeover_and_windows(impl, sender, snct, cnct, wbits):
    ends = connected(
        impl,
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=wbits,
        client_max_window_bits=wbits,
    )
    assert ends[0][2].server_max_window_bits == wbits == ends[1][2].client_max_window_bits
    encoder, decoder = sides(ends, sender)
    text = json_text(1500, wbits)
    sizes = []
    for i in range(30):
        data = encoder.text(text)
        sizes.append(len(data))
        assert [e.data for e in decoder.feed(data)] == [text]
    resets = snct if sender == "server" else cnct
    if resets or wbits < 11:
        # nothing to refer back to (reset, or the previous message is out of the window)
        assert sizes[-1] > len(text) / 8
    else:
        assert sizes[-1] < sizes[0] / 4


def test_fragmented_compressed_message(impl, sender):
    encoder, decoder = sides(connected(impl), sender)
    text = json_text(9000)
    parts = [text[:10], text[10:4000], "", text[4000:]]
    wire = encoder.encode(Opcode.TEXT, parts[0], fin=False, rsv1=True)
    assert wire[0] == 0x40 | Opcode.TEXT
    wire += encoder.encode(Opcode.CONTINUATION, parts[1], fin=False)
    wire += encoder.ping(b"in between")
    wire += encoder.encode(Opcode.CONTINUATION, parts[2], fin=False)
    wire += encoder.encode(Opcode.CONTINUATION, parts[3], fin=True)
    wire += encoder.text(text)  # and the stream goes on
    events = feed(decoder, wire, 333)
    assert [(e.opcode, e.data) for e in events] == [
        (Opcode.PING, b"in between"),
        (Opcode.TEXT, text),
        (Opcode.TEXT, text),
    ]


def test_fragmented_compressed_message_empty_last_fragment(impl, sender):
    encoder, decoder = sides(connected(impl), sender)
    blob = json_text(2000).encode()
    wire = encoder.encode(Opcode.BINARY, blob, fin=False, rsv1=True)
    wire += encoder.encode(Opcode.CONTINUATION, b"", fin=True)
    wire += encoder.binary(blob)
    assert [e.data for e in decoder.feed(wire)] == [blob, blob]


def test_encoder_max_frame_size_splits_compressed_payload(impl, sender):
    client, server = connected(impl, encoder_options={"max_frame_size": 100})
    encoder, decoder = sides((client, server), sender)
    text = json_text(20000)
    wire = encoder.text(text)
    assert wire[0] == 0x40 | Opcode.TEXT  # first fragment: RSV1, not FIN
    events = decoder.feed(wire)
    assert [e.data for e in events] == [text]


def test_unassembled_frames(impl):
    client, server = connected(impl, decoder_options={"assemble": False})
    text = json_text(4000)
    wire = client[0].encode(Opcode.TEXT, text[:2000], fin=False, rsv1=True)
    wire += client[0].encode(Opcode.CONTINUATION, text[2000:], fin=True)
    events = server[1].feed(wire)
    assert b"".join(e.data for e in events).decode() == text
    assert [e.fin for e in events] == [False, True]


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_each_backend_through_the_codec(impl, sender, backend):
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)
    ends = connected(impl, backend=backend, client_max_window_bits=8, server_max_window_bits=8)
    encoder, decoder = sides(ends, sender)
    for seed in range(5):
        text = json_text(5000, seed)
        assert [e.data for e in decoder.feed(encoder.text(text))] == [text]


def test_peer_compressed_with_plain_zlib(impl):
    """Frames built by hand (zlib + wire.py), not by our encoder."""
    pmd = PerMessageDeflate("server")
    decoder = impl.FrameDecoder("server", extensions=[pmd])
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    text = json_text(3000)
    payload = (c.compress(text.encode()) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    wire = client_frame(Opcode.TEXT, payload[:50], fin=False, rsv=RSV1)
    wire += client_frame(Opcode.CONTINUATION, payload[50:], fin=True)
    assert [e.data for e in decoder.feed(wire)] == [text]


# --- failures ------------------------------------------------------------------------


def test_corrupt_payload_is_1007(impl):
    decoder = impl.FrameDecoder("client", extensions=[PerMessageDeflate("client")])
    with pytest.raises(ProtocolError) as info:
        decoder.feed(server_frame(Opcode.BINARY, b"\xff\xff\xff\xff", rsv=RSV1))
    assert info.value.code == 1007


def test_inflated_text_must_be_utf8(impl):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = (c.compress(b"ok \xff\xfe not text " * 20) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    decoder = impl.FrameDecoder("client", extensions=[PerMessageDeflate("client")])
    with pytest.raises(ProtocolError) as info:
        decoder.feed(server_frame(Opcode.TEXT, payload, rsv=RSV1))
    assert info.value.code == 1007


def test_too_many_bfinal_restarts_is_1007(impl):
    decoder = impl.FrameDecoder("client", extensions=[PerMessageDeflate("client")])
    with pytest.raises(ProtocolError) as info:
        decoder.feed(server_frame(Opcode.BINARY, bytes.fromhex("0300") * 100, rsv=RSV1))
    assert info.value.code == 1007


def test_message_limit_applies_to_the_inflated_size(impl):
    client, server = connected(impl, decoder_options={"max_message_size": 10_000})
    blob = json_text(10_000).encode()
    assert [e.data for e in server[1].feed(client[0].binary(blob))] == [blob]
    client, server = connected(impl, decoder_options={"max_message_size": 10_000})
    with pytest.raises(ProtocolError) as info:
        server[1].feed(client[0].binary(blob + b"!"))
    assert info.value.code == 1009


def test_fragmented_message_limit_counts_every_fragment(impl):
    client, server = connected(impl, decoder_options={"max_message_size": 50_000})
    encoder, decoder = client[0], server[1]
    wire = encoder.encode(Opcode.BINARY, bytes(30_000), fin=False, rsv1=True)
    wire += encoder.encode(Opcode.CONTINUATION, bytes(30_000), fin=True)
    with pytest.raises(ProtocolError) as info:
        feed(decoder, wire, 10)
    assert info.value.code == 1009


def zero_bomb(total):
    try:
        from zlib_ng import zlib_ng as module
    except ImportError:
        module = zlib
    zeros = bytes(MiB)
    c = module.compressobj(6, module.DEFLATED, -15)
    parts = [c.compress(zeros) for _ in range(total // MiB)]
    parts.append(c.flush(module.Z_SYNC_FLUSH))
    return b"".join(parts)[:-4]


@pytest.fixture(scope="module")
def bomb_frame():
    """A masked binary frame whose ~1 MiB payload inflates to 1 GiB of zeros."""
    return client_frame(Opcode.BINARY, zero_bomb(1 << 30), rsv=RSV1)


@pytest.mark.parametrize("step", [None, 65536])
def test_gib_bomb_through_the_decoder(impl, bomb_frame, step):
    decoder = impl.FrameDecoder(
        "server",
        max_message_size=MiB,
        max_frame_size=4 * MiB,
        extensions=[PerMessageDeflate("server")],
    )
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(ProtocolError) as info:
            feed(decoder, bomb_frame, step)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == 1009
    # the frame itself (about 1 MiB, unmasked by the decoder) plus at most a few MiB
    assert peak < 6 * MiB, "peak %d bytes" % peak


def test_max_ratio_through_the_decoder(impl):
    pmd = PerMessageDeflate("server", max_ratio=20)
    decoder = impl.FrameDecoder("server", max_message_size=64 * MiB, extensions=[pmd])
    with pytest.raises(ProtocolError) as info:
        decoder.feed(client_frame(Opcode.BINARY, zero_bomb(16 * MiB), rsv=RSV1))
    assert info.value.code == 1009


def test_duck_typed_extension(impl, sender):
    """The codec needs only rsv_bits, inflate, should_compress and deflate."""

    class Counting:
        def __init__(self, pmd):
            self.pmd = pmd
            self.rsv_bits = pmd.rsv_bits
            self.calls = {"inflate": 0, "deflate": 0}

        def inflate(self, data, fin, max_out):
            self.calls["inflate"] += 1
            return self.pmd.inflate(data, fin, max_out)

        def deflate(self, data, fin):
            self.calls["deflate"] += 1
            return self.pmd.deflate(data, fin)

        def should_compress(self, size):
            return self.pmd.should_compress(size)

    other = "server" if sender == "client" else "client"
    send = Counting(PerMessageDeflate(sender))
    receive = Counting(PerMessageDeflate(other))
    encoder = impl.FrameEncoder(sender, extensions=[send])
    decoder = impl.FrameDecoder(other, extensions=[receive])
    text = json_text(1000)
    assert [e.data for e in decoder.feed(encoder.text(text) + encoder.text("tiny"))] == [text, "tiny"]
    assert send.calls["deflate"] == 1
    assert receive.calls["inflate"] == 1


# --- the result does not depend on how the stream is read (fuzz/findings, rule 3) -----


def outcome(impl, role, pmd_options, pieces, **decoder_options):
    """Events (type, opcode, data, fin) and error (code, reason) of a fresh decoder fed
    ``pieces``."""
    pmd = PerMessageDeflate(role, **pmd_options)
    decoder = impl.FrameDecoder(role, extensions=[pmd], **decoder_options)
    events = []
    for piece in pieces:
        try:
            events += decoder.feed(piece)
        except ProtocolError as exc:
            events += exc.events
            return [(type(e).__name__, int(e.opcode), e.data, e.fin) for e in events], (
                exc.code,
                exc.reason,
            )
    return [(type(e).__name__, int(e.opcode), e.data, e.fin) for e in events], None


def every_reading(stream):
    """The stream whole, cut once at every point, and byte by byte."""
    yield [stream]
    for cut in range(1, len(stream)):
        yield [stream[:cut], stream[cut:]]
    yield [stream[i : i + 1] for i in range(len(stream))]


def assert_split_independent(impl, role, pmd_options, stream, **decoder_options):
    whole = outcome(impl, role, pmd_options, [stream], **decoder_options)
    for pieces in every_reading(stream):
        got = outcome(impl, role, pmd_options, pieces, **decoder_options)
        assert got == whole, [len(p) for p in pieces]
    return whole


# fuzz/corpus/finding-bfinal-budget: three complete DEFLATE streams ("abc", BFINAL)
# in one 15-byte compressed binary message from the server.
BFINAL_BUDGET = bytes.fromhex("c20f" + "4b4c4a0600" * 3)


def test_bfinal_budget_is_per_message_not_per_read(impl):
    events, error = assert_split_independent(
        impl, "client", {"server_max_window_bits": 15}, BFINAL_BUDGET
    )
    # the second restart comes 10 bytes into the message: it needs 1 KiB before it
    assert events == []
    assert error == (1007, error[1]) and "BFINAL" in error[1]


def test_bfinal_budget_grows_with_the_message_bytes_before_a_restart(impl):
    stored = b"\x00" + (2000).to_bytes(2, "little") + (0xFFFF ^ 2000).to_bytes(2, "little")
    stored += b"a" * 2000
    empty_final = bytes.fromhex("0300")
    # a stored block, then its stream ends (restart 1, at 2,007 bytes), then two more
    # empty streams: restart 2 at 2,009 bytes is allowed (1 + 2009 // 1024 = 2), 3 is not
    ok = stored + empty_final
    events, error = assert_split_independent(
        impl, "client", {}, server_frame(Opcode.BINARY, ok + empty_final, rsv=RSV1)
    )
    assert error is None and events == [("Frame", 2, b"a" * 2000, True)]
    events, error = assert_split_independent(
        impl, "client", {}, server_frame(Opcode.BINARY, ok + empty_final * 2, rsv=RSV1)
    )
    assert error[0] == 1007 and "BFINAL" in error[1]


# fuzz/corpus/finding-window-too-far: a masked compressed text frame (declaring 65
# bytes, 26 sent) whose DEFLATE data refers farther back than the agreed 256-byte window.
WINDOW_TOO_FAR = bytes.fromhex(
    "c1c1c18a8a8633c127c1c1c1c1c12ec1c1c1c1c1c1c10000000000090000003d"
)


def test_window_too_far_reproducer(impl):
    options = {"client_no_context_takeover": True, "client_max_window_bits": 8, "max_ratio": 100}
    events, error = assert_split_independent(impl, "server", options, WINDOW_TOO_FAR)
    assert (events, error) == ([], None)  # accepted, however read (the frame is unfinished)


@pytest.mark.parametrize("bits", [8, 9, 10, 12])
def test_reference_beyond_the_agreed_window_is_accepted_however_read(impl, bits):
    """The peer agreed to a 2**bits window and refers 2**bits + 1000 bytes back anyway:
    we inflate with 15 bits, so this is accepted in every reading (an inflater with the
    agreed window refused it only when the reference crossed a read boundary)."""
    rng = random.Random(bits)
    head = bytes(rng.choice(b"0123456789abcdef") for _ in range((1 << bits) + 1000))
    data = head + head[:40] + b"end"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    # the stream does refer beyond the window: the agreed window refuses it across reads
    d = zlib.decompressobj(-bits)
    d.decompress(payload[:-40])
    with pytest.raises(zlib.error, match="too far back"):
        d.decompress(payload[-40:] + b"\x00\x00\xff\xff")
    stream = server_frame(Opcode.BINARY, payload, rsv=RSV1)
    options = {"server_max_window_bits": bits}
    whole = outcome(impl, "client", options, [stream])
    assert whole == ([("Frame", 2, data, True)], None)
    # every 2-way split of a 2-4 KiB stream would be slow on both implementations: cut
    # every 37 bytes and at each of the last 80 (the far reference is near the end)
    cuts = list(range(1, len(stream), 37)) + list(range(len(stream) - 80, len(stream)))
    for cut in cuts:
        assert outcome(impl, "client", options, [stream[:cut], stream[cut:]]) == whole, cut
    dribbled = [stream[i : i + 1] for i in range(len(stream))]
    assert outcome(impl, "client", options, dribbled) == whole


def ratio_prefix_payload(zeros):
    """A compressed message whose first ~120 bytes inflate to ``zeros`` zero bytes
    (ratio ~900) and whose 1,500 bytes after them hardly compress: under 100 times its
    size as a whole, far over it in its first bytes."""
    rng = random.Random(5)
    noise = bytes(rng.getrandbits(8) for _ in range(1500))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(bytes(zeros)) + c.flush(zlib.Z_SYNC_FLUSH)
    tail = c.compress(noise) + c.flush(zlib.Z_SYNC_FLUSH)
    return (head + tail)[:-4], bytes(zeros) + noise


@pytest.mark.parametrize("zeros, ok", [(100_000, True), (110_000, False)])
def test_max_ratio_does_not_depend_on_the_reads(impl, zeros, ok):
    """fuzz/corpus/finding-ratio-prefix (100,000 zeros): max_ratio used to be computed on
    the compressed bytes received so far, so this message passed in one read and failed
    (1009) when its first bytes came alone. It is now checked at every KiB of the
    compressed message: output(first x bytes) <= 100 * x rounded up to a KiB (or 64 KiB),
    whatever the reads: 100,000 zeros from the first KiB pass, 110,000 fail."""
    payload, data = ratio_prefix_payload(zeros)
    assert len(payload) < 1700
    stream = client_frame(Opcode.BINARY, payload, rsv=RSV1)
    events, error = assert_split_independent(impl, "server", {"max_ratio": 100}, stream)
    if ok:
        assert (events, error) == ([("Frame", 2, data, True)], None)
    else:
        assert events == [] and error[0] == 1009 and "100 times" in error[1]
