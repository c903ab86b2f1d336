"""Text messages become the right str on every UTF-8 path: the compiled codec validates
with the SIMD validator and builds the str with the C transcoder (1-, 2- or 4-byte
layout); the interpreted one uses CPython's decoder. Sizes cross every vector width and
the size above which the GIL is released."""

import random

import pytest

from wsframe import Opcode, ProtocolError

ALPHABETS = {
    "ascii": "abcdefghij klmnop.,;",
    "latin1": "abcdéèàçüöß ñ\u00a0\u00ff",  # 1-byte layout, not ASCII
    "french": "le café « déjà » — l’été ",  # 2-byte layout (U+2019, U+2014)
    "cyrillic": "Привет мир ",
    "cjk": "日本語のテキスト中文",
    "emoji": "a😀🎉é日\U0010ffff",  # 4-byte layout
}
SIZES = [0, 1, 2, 3, 15, 16, 17, 63, 64, 65, 66, 67, 68, 127, 128, 200, 1000, 4099,
         65536, 70001]  # fmt: skip


def text_of(alphabet, n_bytes, seed):
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_bytes:
        ch = rng.choice(alphabet)
        out.append(ch)
        size += len(ch.encode())
    return "".join(out)


@pytest.fixture(params=["auto", "each"])
def utf8_paths(request, impl):
    paths = [None] if request.param == "auto" else impl.available_paths("utf8")
    yield paths
    impl.set_path("utf8", None)


@pytest.mark.parametrize("alphabet", sorted(ALPHABETS))
def test_text_frames_on_every_path(impl, utf8_paths, alphabet):
    client = impl.FrameEncoder("client")
    texts = [text_of(ALPHABETS[alphabet], n, n) for n in SIZES]
    whole = b"".join(client.text(t) for t in texts)
    # The same texts as fragmented messages: validated piecewise, decoded once at the end.
    parts = []
    for t in texts:
        data = t.encode()
        cut = len(data) // 3
        parts.append(client.encode(Opcode.TEXT, data[:cut], fin=False))
        parts.append(client.encode(Opcode.CONTINUATION, data[cut:], fin=True))
    fragmented = b"".join(parts)
    for path in utf8_paths:
        impl.set_path("utf8", path)
        for stream in (whole, fragmented):
            decoder = impl.FrameDecoder("server", max_message_size=1 << 20)
            events = decoder.feed(stream)
            got = [e.data for e in events]
            assert got == texts, path
            for text, event in zip(texts, events):
                assert type(event.data) is str
                # the narrowest layout, as CPython builds it (equal strs compare equal
                # anyway, but a wrong layout breaks hashing and interning)
                assert hash(event.data) == hash(text)


@pytest.mark.parametrize("cut", [0, 1, 63, 64, 65, 1000])
def test_invalid_text_same_error_on_every_path(impl, utf8_paths, cut):
    body = text_of(ALPHABETS["french"], 1100, 3).encode()
    # a lone continuation byte at a character boundary near `cut`
    pos = cut
    while pos < len(body) and (body[pos] & 0xC0) == 0x80:
        pos += 1
    bad = body[:pos] + b"\x80" + body[pos:]
    frame = impl.FrameEncoder("client").encode(Opcode.TEXT, bad)
    for path in utf8_paths:
        impl.set_path("utf8", path)
        with pytest.raises(ProtocolError) as info:
            impl.FrameDecoder("server").feed(frame)
        assert info.value.code == 1007
        assert "byte %d" % pos in info.value.reason
