"""wsframe.deflate on its own: the PerMessageDeflate streams (RFC 7692 section 7.2),
window-size compliance of every backend, bounded inflation (bombs), BFINAL handling."""

import gc
import json
import random
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe import ProtocolError
from wsframe import deflate as deflate_module
from wsframe.deflate import (
    BACKENDS,
    DEFAULT_THRESHOLD,
    RATIO_FLOOR,
    PerMessageDeflate,
    available_backends,
)

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


def need(backend):
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)
    return backend


@pytest.fixture(params=BACKENDS)
def backend(request):
    return need(request.param)


def json_messages(count, size, seed=0):
    """JSON-like text messages of about ``size`` bytes."""
    rng = random.Random(seed)
    words = ["click", "view", "buy", "scroll", "login", "logout", "search"]
    result = []
    for m in range(count):
        items = []
        text = "[]"
        while len(text) < size:
            items.append(
                {
                    "id": m * 1000 + len(items),
                    "user": "user%05d" % rng.randrange(100000),
                    "event": rng.choice(words),
                    "ts": 1700000000 + rng.randrange(10**6),
                    "price": round(rng.random() * 100, 2),
                    "ok": rng.random() < 0.5,
                }
            )
            text = json.dumps(items)
        result.append(text[:size].encode())
    return result


def window_probe_data(size=120_000, seed=1):
    """Random bytes with copies at many distances around every power of two (256 ...
    32768), so a compressor finds matches as far back as its window lets it."""
    rng = random.Random(seed)
    out = bytearray(rng.getrandbits(8) for _ in range(400))
    distances = [100, 200, 250, 255, 256, 257, 300, 500, 511, 512, 513, 700, 1023, 1024]
    distances += [1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193]
    distances += [16383, 16384, 16385, 32000, 32767, 32768, 32769, 40000]
    while len(out) < size:
        distance = rng.choice(distances)
        if distance <= len(out) and rng.random() < 0.8:
            start = len(out) - distance
            out += out[start : start + rng.randint(3, 30)]
        else:
            out += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 6)))
    return bytes(out)


class StrictInflater:
    """zlib raw inflate with a window of exactly 2**wbits, checking every distance.

    zlib only checks a match distance against its window when the match reaches behind
    the output of the current call; inflating 64 bytes at a time makes every distance
    over 64 checked, so a stream that refers farther back than the window fails with
    "invalid distance too far back".
    """

    def __init__(self, wbits):
        self.wbits = wbits
        self.d = zlib.decompressobj(-wbits)

    def message(self, payload):
        out = []
        buf = payload + TAIL
        while True:
            chunk = self.d.decompress(buf, 64)
            out.append(chunk)
            buf = self.d.unconsumed_tail
            if not buf and not chunk:
                break
        return b"".join(out)


def deflate_message(pmd, data, fragments=1):
    """Compress ``data`` as one message of ``fragments`` frames; the frame payloads."""
    if fragments == 1:
        return [pmd.deflate(data, True)]
    step = -(-len(data) // fragments) or 1
    parts = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
    payloads = [pmd.deflate(part, False) for part in parts[:-1]]
    payloads.append(pmd.deflate(parts[-1], True))
    return payloads


def inflate_message(pmd, payloads, max_out=64 * MiB, split=None):
    """Inflate frame payloads of one message, each in pieces of ``split`` bytes."""
    out = []
    for index, payload in enumerate(payloads):
        last_frame = index == len(payloads) - 1
        if split is None or not payload:
            out.append(pmd.inflate(payload, last_frame, max_out))
            continue
        pieces = [payload[i : i + split] for i in range(0, len(payload), split)]
        for n, piece in enumerate(pieces):
            out.append(pmd.inflate(piece, last_frame and n == len(pieces) - 1, max_out))
    return b"".join(out)


def pair(**params):
    """A connected (client, server) pair with the same agreed parameters."""
    options = {k: v for k, v in params.items() if k in ("level", "backend", "threshold")}
    agreed = {k: v for k, v in params.items() if k not in options}
    return (
        PerMessageDeflate("client", **agreed, **options),
        PerMessageDeflate("server", **agreed, **options),
    )


# --- the interface -------------------------------------------------------------------


def test_interface_attributes():
    pmd = PerMessageDeflate("server")
    assert pmd.rsv_bits == 0x40
    assert DEFAULT_THRESHOLD == 128
    assert not pmd.should_compress(127)
    assert pmd.should_compress(128)
    assert PerMessageDeflate("client", threshold=0).should_compress(0)
    assert not PerMessageDeflate("client", threshold=1000).should_compress(999)
    assert "PerMessageDeflate('server'" in repr(pmd)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("peer",), {}),
        (("client",), {"server_max_window_bits": 7}),
        (("client",), {"server_max_window_bits": 16}),
        (("client",), {"client_max_window_bits": True}),
        (("client",), {"client_max_window_bits": "10"}),
        (("client",), {"level": 10}),
        (("client",), {"level": -2}),
        (("client",), {"mem_level": 0}),
        (("client",), {"mem_level": 10}),
        (("client",), {"threshold": -1}),
        (("client",), {"max_ratio": 0.5}),
        (("client",), {"max_ratio": "10"}),
        (("client",), {"backend": "brotli"}),
    ],
)
def test_constructor_rejects(args, kwargs):
    with pytest.raises(ValueError):
        PerMessageDeflate(*args, **kwargs)


def test_missing_backend_is_an_import_error(monkeypatch):
    monkeypatch.setitem(deflate_module._backends, "isal", None)
    with pytest.raises(ImportError, match="pip install isal"):
        PerMessageDeflate("client", backend="isal")


def test_auto_prefers_the_first_installed(monkeypatch):
    installed = available_backends()
    assert installed[-1] == "zlib"
    assert PerMessageDeflate("client").backend == installed[0]
    for name in ("zlib-ng", "isal"):
        monkeypatch.setitem(deflate_module._backends, name, None)
    assert available_backends() == ["zlib"]
    assert PerMessageDeflate("client").backend == "zlib"


def test_explicit_backend(backend):
    pmd = PerMessageDeflate("client", backend=backend)
    assert pmd.backend == backend == pmd.deflate_backend


# --- RFC 7692 section 7.2.3 examples -------------------------------------------------


@pytest.mark.parametrize(
    "payloads",
    [
        ["f248cdc9c90700"],  # 7.2.3.1 a message compressed in one block
        ["f248cd", "c9c90700"],  # 7.2.3.1 the same, fragmented
        ["000500faff48656c6c6f00"],  # 7.2.3.3 a block with no compression
        ["f348cdc9c9070000"],  # 7.2.3.4 a block with BFINAL set to 1
        ["f348cd", "c9c9070000"],  # the same, fragmented
        ["f248050000" "00ffff" "cac9c90700"],  # 7.2.3.5 two DEFLATE blocks in one message
        ["f248cdc9c90700" "0000ffff", "00"],  # 7.2.3.6 an empty final fragment
    ],
)
def test_rfc_examples(backend, payloads):
    pmd = PerMessageDeflate("client", backend=backend)
    for _ in range(2):  # and the stream is still sane for the next message
        assert inflate_message(pmd, [bytes.fromhex(p) for p in payloads]) == b"Hello"
        assert inflate_message(pmd, [bytes.fromhex("f248cdc9c90700")]) == b"Hello"


def test_rfc_sliding_window_example(backend):
    """7.2.3.2: the second "Hello" refers to the first through the shared window."""
    client = PerMessageDeflate("client", backend=backend)
    assert client.inflate(bytes.fromhex("f248cdc9c90700"), True, 100) == b"Hello"
    assert client.inflate(bytes.fromhex("f200110000"), True, 100) == b"Hello"
    # With server_no_context_takeover the window is dropped: the reference is invalid.
    fresh = PerMessageDeflate("client", server_no_context_takeover=True, backend=backend)
    assert fresh.inflate(bytes.fromhex("f248cdc9c90700"), True, 100) == b"Hello"
    with pytest.raises(zlib.error):
        fresh.inflate(bytes.fromhex("f200110000"), True, 100)


def test_zlib_produces_the_rfc_bytes():
    server = PerMessageDeflate("server", backend="zlib")
    assert server.deflate(b"Hello", True) == bytes.fromhex("f248cdc9c90700")
    assert server.deflate(b"Hello", True) == bytes.fromhex("f200110000")


# --- round trips -----------------------------------------------------------------------

TAKEOVER = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize("snct, cnct", TAKEOVER)
@pytest.mark.parametrize("wbits", range(8, 16))
@pytest.mark.parametrize("level", [1, 6, 9])
def test_round_trip_matrix(backend, snct, cnct, wbits, level):
    client, server = pair(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=wbits,
        client_max_window_bits=wbits,
        level=level,
        backend=backend,
    )
    # A reference inflater of exactly the agreed window for each direction.
    to_server, to_client = StrictInflater(wbits), StrictInflater(wbits)
    messages = json_messages(6, 700, seed=wbits) + [window_probe_data(3000, seed=level)]
    messages += [messages[0], messages[0][:200]]  # repeats: context takeover at work
    for index, message in enumerate(messages):
        fragments = 1 + index % 3
        payloads = deflate_message(client, message, fragments)
        assert inflate_message(server, payloads, split=97 if index % 2 else None) == message
        if cnct:
            to_server = StrictInflater(wbits)
        assert to_server.message(b"".join(payloads)) == message
        payloads = deflate_message(server, message, fragments)
        assert inflate_message(client, payloads) == message
        if snct:
            to_client = StrictInflater(wbits)
        assert to_client.message(b"".join(payloads)) == message


@pytest.mark.parametrize("server_bits", [8, 9, 12, 15])
@pytest.mark.parametrize("client_bits", [8, 10, 15])
def test_round_trip_asymmetric_windows(backend, server_bits, client_bits):
    client, server = pair(
        server_max_window_bits=server_bits, client_max_window_bits=client_bits, backend=backend
    )
    to_server, to_client = StrictInflater(client_bits), StrictInflater(server_bits)
    data = window_probe_data(20_000)
    for _ in range(3):
        payload = client.deflate(data, True)
        assert server.inflate(payload, True, MiB) == data
        assert to_server.message(payload) == data
        payload = server.deflate(data, True)
        assert client.inflate(payload, True, MiB) == data
        assert to_client.message(payload) == data


def test_strict_inflater_has_teeth():
    """The window checks above would catch a compressor using too large a window."""
    data = window_probe_data(60_000)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert StrictInflater(15).message(payload) == data
    for wbits in range(8, 15):
        with pytest.raises(zlib.error, match="too far back"):
            StrictInflater(wbits).message(payload)
    # and zlib's wbits=9 output fits a 256-byte window, ISA-L's does not
    c = zlib.compressobj(9, zlib.DEFLATED, -9)
    payload = (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert StrictInflater(8).message(payload) == data
    if "isal" in available_backends():
        from isal import isal_zlib

        c = isal_zlib.compressobj(3, isal_zlib.DEFLATED, -9)
        payload = (c.compress(data) + c.flush(isal_zlib.Z_SYNC_FLUSH))[:-4]
        assert StrictInflater(9).message(payload) == data
        with pytest.raises(zlib.error, match="too far back"):
            StrictInflater(8).message(payload)


@pytest.mark.parametrize("wbits", range(8, 16))
@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
def test_every_level_respects_the_window(backend, wbits, level):
    pmd = PerMessageDeflate(
        "server", server_max_window_bits=wbits, level=level, backend=backend
    )
    reference = StrictInflater(wbits)
    data = window_probe_data(40_000, seed=wbits)
    for _ in range(2):  # the second message may refer into the first
        assert reference.message(pmd.deflate(data, True)) == data


def test_window_8_never_compresses_with_isal():
    need("isal")
    pmd = PerMessageDeflate("client", client_max_window_bits=8, backend="isal")
    assert pmd.backend == "isal"
    assert pmd.deflate_backend in ("zlib-ng", "zlib")
    other = PerMessageDeflate("client", server_max_window_bits=8, backend="isal")
    assert other.deflate_backend == "isal"  # only our own window matters


def test_levels_change_the_output(backend):
    data = json_messages(1, 20_000)[0]
    sizes = {}
    for level in range(10):
        sizes[level] = len(PerMessageDeflate("client", level=level, backend=backend).deflate(data, True))
    assert sizes[9] < len(data) * 0.5
    if backend != "isal":
        assert sizes[0] > len(data)  # stored
    assert len(set(sizes.values())) >= 3


@pytest.mark.parametrize("mem_level", [1, 5, 9])
def test_mem_level(backend, mem_level):
    pmd = PerMessageDeflate("client", mem_level=mem_level, backend=backend)
    data = json_messages(1, 5000)[0]
    assert zlib.decompressobj(-15).decompress(pmd.deflate(data, True) + TAIL) == data


# --- context takeover ----------------------------------------------------------------


def test_context_takeover_shrinks_repeats(backend):
    client, server = pair(backend=backend)
    message = json_messages(1, 2000)[0]
    first = client.deflate(message, True)
    second = client.deflate(message, True)
    assert len(second) < len(first) / 4
    assert server.inflate(first, True, MiB) == message
    assert server.inflate(second, True, MiB) == message


@pytest.mark.parametrize("role", ["client", "server"])
def test_no_context_takeover_resets_our_compressor(backend, role):
    ours = "%s_no_context_takeover" % role
    pmd = PerMessageDeflate(role, backend=backend, **{ours: True})
    message = json_messages(1, 2000)[0]
    outputs = {pmd.deflate(message, True) for _ in range(5)}
    assert len(outputs) == 1  # every message starts from an empty window
    peer = "server" if role == "client" else "client"
    other = PerMessageDeflate(role, backend=backend, **{"%s_no_context_takeover" % peer: True})
    first, second = other.deflate(message, True), other.deflate(message, True)
    assert len(second) < len(first) / 4  # the peer's flag does not reset ours


@pytest.mark.parametrize("role", ["client", "server"])
def test_no_context_takeover_drops_the_peers_window(backend, role):
    peer = "server" if role == "client" else "client"
    pmd = PerMessageDeflate(role, backend=backend, **{"%s_no_context_takeover" % peer: True})
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    message = json_messages(1, 1000)[0]
    first = (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    second = (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert pmd.inflate(first, True, MiB) == message
    assert pmd._inflater is None
    # the second refers to the first, which a reset inflater no longer has
    with pytest.raises(zlib.error):
        assert pmd.inflate(second, True, MiB) != message


def test_many_small_messages_with_context_takeover(backend):
    client, server = pair(backend=backend)
    messages = [b'{"type":"tick","seq":%d,"price":%d.25}' % (i, 1000 + i % 7) for i in range(2000)]
    wire = 0
    for message in messages:
        payload = client.deflate(message, True)
        wire += len(payload)
        assert server.inflate(payload, True, 1000) == message
    raw = sum(len(m) for m in messages)
    assert wire < raw / 2  # each message is compressed against the previous ones


def test_reset_drops_both_contexts(backend):
    client, server = pair(backend=backend)
    message = json_messages(1, 1000)[0]
    first = client.deflate(message, True)
    assert server.inflate(first, True, MiB) == message
    client.reset()
    server.reset()
    assert client.deflate(message, True) == first
    assert server.inflate(first, True, MiB) == message


# --- fragments and edge payloads -----------------------------------------------------


def test_empty_message(backend):
    client, server = pair(backend=backend)
    payload = client.deflate(b"", True)
    if backend != "isal":
        assert payload == b"\x00"  # RFC 7692 7.2.3.6
    assert server.inflate(payload, True, 10) == b""
    assert server.inflate(client.deflate(b"x" * 300, True), True, 1000) == b"x" * 300


def test_empty_final_fragment_after_a_flushed_one(backend):
    """The last fragment carries nothing new: zlib has nothing to flush, yet the payload
    must still end the message properly (a lone 0x00), or the stream desynchronizes."""
    client, server = pair(backend=backend)
    message = json_messages(1, 3000)[0]
    for _ in range(3):
        payloads = [client.deflate(message, False), client.deflate(b"", True)]
        assert payloads[1] != b""
        assert inflate_message(server, payloads) == message
        payloads = [client.deflate(message[:100], False), client.deflate(b"", False)]
        payloads += [client.deflate(message[100:], False), client.deflate(b"", True)]
        assert inflate_message(server, payloads, split=5) == message


@pytest.mark.parametrize("split", [1, 2, 13, 4096])
def test_fragmented_messages_any_split(backend, split):
    client, server = pair(backend=backend)
    for index, message in enumerate(json_messages(5, 5000, seed=split)):
        payloads = deflate_message(client, message, fragments=1 + index)
        assert inflate_message(server, payloads, split=split) == message


def test_inflate_empty_pieces(backend):
    client, server = pair(backend=backend)
    message = json_messages(1, 500)[0]
    payload = client.deflate(message, True)
    out = server.inflate(b"", False, 1000)
    out += server.inflate(payload, False, 1000)
    out += server.inflate(b"", False, 1000)
    out += server.inflate(b"", True, 1000)
    assert out == message


# --- limits --------------------------------------------------------------------------


@pytest.mark.parametrize("max_out", [0, 1, 999, 1000, 1001, 5000])
def test_inflate_returns_at_most_max_out_plus_one(backend, max_out):
    client, server = pair(backend=backend)
    message = json_messages(1, 1000)[0]
    out = server.inflate(client.deflate(message, True), True, max_out)
    if max_out >= 1000:
        assert out == message
    else:
        assert len(out) == max_out + 1  # over the limit, and it says so
        assert out == message[: max_out + 1]


def test_inflate_limit_per_piece(backend):
    """The codec passes the budget left for the message; each call respects it."""
    client, server = pair(backend=backend)
    message = json_messages(1, 10_000)[0]
    payload = client.deflate(message, True)
    budget = 6000
    out = b""
    for i in range(0, len(payload), 100):
        piece = server.inflate(payload[i : i + 100], i + 100 >= len(payload), budget - len(out))
        assert len(piece) <= budget - len(out) + 1
        out += piece
        if len(out) > budget:
            break
    assert len(out) == budget + 1


def zero_bomb(total):
    """``total`` zero bytes deflated, built in 1 MiB steps (never held inflated).

    zlib-ng's level 6 does it in a fraction of a second with the same ~1030:1 ratio as
    zlib's level 9; any DEFLATE is fine, every backend inflates any of them.
    """
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
def gib_bomb():
    bomb = zero_bomb(1 << 30)
    assert len(bomb) < 2 * MiB  # about 1 MiB on the wire for 1 GiB inflated
    return bomb


def traced_peak(function):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def test_gib_bomb_in_one_frame(backend, gib_bomb):
    pmd = PerMessageDeflate("server", backend=backend)
    out, peak = traced_peak(lambda: pmd.inflate(gib_bomb, True, MiB))
    assert len(out) == MiB + 1  # rejected: over the limit
    assert set(out) == {0}
    del out
    assert peak < 4 * MiB, "peak %d bytes" % peak


def test_gib_bomb_in_pieces(backend, gib_bomb):
    """Fed as the codec would, in 64 KiB pieces with the budget left each time."""
    pmd = PerMessageDeflate("server", backend=backend)

    def run():
        total = 0
        calls = 0
        for i in range(0, len(gib_bomb), 65536):
            piece = gib_bomb[i : i + 65536]
            out = pmd.inflate(piece, i + 65536 >= len(gib_bomb), MiB - total)
            calls += 1
            total += len(out)
            del out
            if total > MiB:
                return total, calls
        return total, calls

    (total, calls), peak = traced_peak(run)
    assert total == MiB + 1
    assert calls <= 2  # stopped at once, not after inflating the rest
    assert peak < 4 * MiB, "peak %d bytes" % peak


def test_max_ratio(backend):
    client, server = pair(backend=backend)
    strict = PerMessageDeflate("server", max_ratio=100, backend=backend)
    zeros = client.deflate(bytes(4 * MiB), True)
    with pytest.raises(ProtocolError) as info:
        strict.inflate(zeros, True, 64 * MiB)
    assert info.value.code == 1009
    assert "100 times" in info.value.reason
    # the ratio check keeps memory bounded by the ratio, not only by max_out
    strict = PerMessageDeflate("server", max_ratio=100, backend=backend)
    _, peak = traced_peak(lambda: pytest.raises(ProtocolError, strict.inflate, zeros, True, 1 << 40))
    assert peak < 4 * MiB
    # below the floor a high ratio is fine (a repeated small message does that)
    small = PerMessageDeflate("server", max_ratio=2, backend=backend)
    c, s = pair(backend=backend)
    payload = c.deflate(bytes(RATIO_FLOOR), True)
    assert small.inflate(payload, True, MiB) == bytes(RATIO_FLOOR)
    # ordinary text is far from a ratio of 100
    ok = PerMessageDeflate("server", max_ratio=100, backend=backend)
    text = b"".join(json_messages(40, 5000))
    assert ok.inflate(client.deflate(text, True), True, 64 * MiB) == text


def test_max_ratio_counts_the_whole_message(backend):
    """The ratio is over the message so far, fragments included, and restarts with it."""
    client, _ = pair(backend=backend, level=9)
    pmd = PerMessageDeflate("server", max_ratio=50, backend=backend)
    data = bytes(2 * MiB)
    payloads = deflate_message(client, data, fragments=8)
    with pytest.raises(ProtocolError) as info:
        inflate_message(pmd, payloads, max_out=64 * MiB)
    assert info.value.code == 1009


# --- corrupt data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff\xff", b"\x07", b"\x00\x05\x00\x00\x00hello", b"\xf2\x48\x25\xff\xff\x00"],
)
def test_corrupt_data_raises_zlib_error(backend, payload):
    pmd = PerMessageDeflate("server", backend=backend)
    with pytest.raises(zlib.error):
        pmd.inflate(payload, True, 1000)
    assert not isinstance(zlib.error(), ProtocolError)


# --- BFINAL inside a message (RFC 7692 7.2.3.4) --------------------------------------


def final_stream(data, zdict=None):
    """``data`` as a whole DEFLATE stream ending with a BFINAL block."""
    if zdict:
        c = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=zdict)
    else:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH)


def test_bfinal_keeps_the_window_for_the_next_message(backend):
    pmd = PerMessageDeflate("client", backend=backend)
    first = json_messages(1, 3000)[0]
    assert pmd.inflate(final_stream(first) + b"\x00", True, MiB) == first
    # a peer that ends each message with BFINAL and primes the next with the window
    second = first[:1500] + b"tail"
    payload = final_stream(second, zdict=first) + b"\x00"
    assert len(payload) < 100
    assert pmd.inflate(payload, True, MiB) == second
    # without the trailing 0x00 too, and fragmented
    third = first[500:2000]
    payload = final_stream(third, zdict=first[-32768:] + second)
    assert pmd.inflate(payload[:5], False, MiB) + pmd.inflate(payload[5:], True, MiB) == third
    assert pmd.inflate(bytes.fromhex("f248cdc9c90700"), True, MiB) == b"Hello"


@pytest.mark.parametrize("size", [10, 4095, 4096, 20_000])
def test_bfinal_at_the_very_end_of_a_message(backend, size):
    """No 0x00 after the BFINAL block: the tail must not be fed to the next stream
    (both with the tail joined to a short payload and fed on its own after a long one)."""
    pmd = PerMessageDeflate("client", backend=backend)
    rng = random.Random(size)
    for n in range(3):
        message = bytes(rng.getrandbits(8) for _ in range(size))
        payload = final_stream(message)
        assert pmd.inflate(payload, True, MiB) == message
        assert pmd.inflate(bytes.fromhex("f248cdc9c90700"), True, MiB) == b"Hello"


def test_bfinal_in_the_middle_of_a_message(backend):
    pmd = PerMessageDeflate("client", backend=backend)
    head, rest = b"head " * 100, b"rest " * 100
    c = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=head)
    payload = final_stream(head) + (c.compress(rest) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert pmd.inflate(payload, True, MiB) == head + rest


def test_bfinal_restarts_are_bounded(backend):
    pmd = PerMessageDeflate("client", backend=backend)
    empty_final = bytes.fromhex("0300")  # an empty fixed-Huffman block with BFINAL
    with pytest.raises(ValueError, match="BFINAL"):
        pmd.inflate(empty_final * 600, True, MiB)
    # one restart per KiB of the message before the end of the restarting stream
    stored = b"\x00" + (2000).to_bytes(2, "little") + (0xFFFF ^ 2000).to_bytes(2, "little")
    stored += b"a" * 2000
    pmd = PerMessageDeflate("client", backend=backend)
    assert pmd.inflate(stored + empty_final * 2, True, MiB) == b"a" * 2000
    pmd = PerMessageDeflate("client", backend=backend)
    with pytest.raises(ValueError, match="BFINAL"):
        pmd.inflate(stored + empty_final * 3, True, MiB)
    # the input after a restart does not pay for it, whether it is in the same read
    # (it used to: the budget was per call) or not
    pmd = PerMessageDeflate("client", backend=backend)
    with pytest.raises(ValueError, match="BFINAL"):
        pmd.inflate(empty_final * 2 + stored, True, MiB)



@pytest.mark.parametrize("step", [None, 1, 7, 500])
def test_bfinal_restart_sees_the_agreed_window(backend, step):
    """We inflate with 15 bits whatever the peer's window, but a stream restarted after
    BFINAL gets the agreed window (here 512 bytes) as its dictionary: a reference behind
    it fails, one within it passes, however the message is read."""
    rng = random.Random(9)
    first = bytes(rng.choice(b"0123456789abcdef") for _ in range(2000))
    for target, ok in ((first[:40], False), (first[-400:-360], True)):
        pmd = PerMessageDeflate("client", server_max_window_bits=9, backend=backend)
        c = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=first)
        payload = final_stream(first) + c.compress(target) + c.flush(zlib.Z_SYNC_FLUSH)[:-4]
        assert len(payload) < 1200  # the 40 bytes are a copy
        try:
            out = inflate_message(pmd, [payload], split=step)
        except zlib.error:  # "too far back" (zlib), "invalid lookback distance" (ISA-L)
            assert not ok
        else:
            assert ok and out == first + target


@pytest.mark.parametrize("step", [1, 3, 700])
def test_bfinal_restarts_count_per_message_in_any_reads(backend, step):
    stored = b"\x00" + (2000).to_bytes(2, "little") + (0xFFFF ^ 2000).to_bytes(2, "little")
    stored += b"a" * 2000
    empty_final = bytes.fromhex("0300")
    for payload, ok in ((stored + empty_final * 2, True), (stored + empty_final * 3, False)):
        pmd = PerMessageDeflate("client", backend=backend)
        pieces = [payload[i : i + step] for i in range(0, len(payload), step)]
        try:
            out = b"".join(pmd.inflate(p, i == len(pieces) - 1, MiB) for i, p in enumerate(pieces))
        except ValueError as exc:
            assert not ok and "BFINAL" in str(exc)
        else:
            assert ok and out == b"a" * 2000
            # the count starts again with the next message (a BFINAL right at its start)
            assert pmd.inflate(final_stream(b"Hello"), True, MiB) == b"Hello"


# --- robustness (hypothesis) -----------------------------------------------------------



@given(st.lists(st.binary(max_size=64), min_size=1, max_size=6), st.integers(0, 300))
def test_inflate_garbage_fails_cleanly(pieces, max_out):
    for backend in available_backends():
        pmd = PerMessageDeflate("server", backend=backend)
        for index, piece in enumerate(pieces):
            try:
                out = pmd.inflate(piece, index == len(pieces) - 1, max_out)
            except (zlib.error, ValueError):
                break
            assert len(out) <= max_out + 1
            if len(out) > max_out:
                break
