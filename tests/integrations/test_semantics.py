"""Each replacement against the library's own function: same results, same errors.

The library's original is taken from the integration before install (what was really in
place on this machine: a C speedup, wsaccel, NVX or pure Python) and, where the library
has one, also its pure-Python fallback.
"""

import importlib.util
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire import split

from .conftest import require

MASKS = st.binary(min_size=4, max_size=4)
DATA = st.binary(max_size=300)
CHUNKS = st.lists(st.binary(max_size=40), max_size=8)


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def _utf8ish():
    # Bytes biased towards UTF-8 structure, so that valid, truncated and invalid
    # sequences all show up.
    pieces = st.sampled_from(
        [
            b"a",
            b"\x7f",
            "é".encode(),
            "€".encode(),
            "😀".encode(),
            b"\xc0",
            b"\xc1\xbf",
            b"\xe0\x80",
            b"\xe0\xa0",
            b"\xed\xa0\x80",
            b"\xed\x9f\xbf",
            b"\xf0\x8f",
            b"\xf4\x8f\xbf\xbf",
            b"\xf4\x90",
            b"\xf5",
            b"\xff",
            b"\x80",
            b"\xbf",
            b"\xe2",
            b"\xe2\x82",
            b"\xf0\x9f",
            b"\xf0\x9f\x98",
        ]
    )
    return st.lists(pieces, max_size=12).map(b"".join)


# ------------------------------------------------------------------------------ websockets
class TestWebsockets:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("websockets")
        from websockets import frames, utils

        self.original = frames.apply_mask
        self.pure = utils.apply_mask
        accelerate("websockets")
        self.replacement = frames.apply_mask
        assert self.replacement is not self.original

    @settings(max_examples=150)
    @given(data=DATA, mask=MASKS, kind=st.sampled_from([bytes, bytearray]))
    def test_apply_mask_same_result(self, data, mask, kind):
        data = kind(data)
        got = self.replacement(data, mask)
        assert type(got) is bytes
        assert got == self.original(data, mask) == self.pure(data, mask)
        assert self.replacement(data=data, mask=mask) == got

    @pytest.mark.parametrize(
        "args",
        [
            (b"abc", b"abc"),
            (b"abc", b"abcde"),
            ("abc", b"abcd"),
            (b"abc", "abcd"),
            (memoryview(b"abcdef")[::2], b"abcd"),
            (memoryview(b"abcdef"), bytearray(b"abcd")),
            (None, b"abcd"),
        ],
    )
    def test_apply_mask_same_errors_and_edge_types(self, args):
        assert _outcome(self.replacement, *args) == _outcome(self.original, *args)


# ------------------------------------------------------------------------------ wsproto
class TestWsproto:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("wsproto")
        from wsproto import frame_protocol

        self.original = frame_protocol.XorMaskerSimple
        accelerate("wsproto")
        self.replacement = frame_protocol.XorMaskerSimple

    @settings(max_examples=150)
    @given(mask=MASKS, chunks=CHUNKS, key_type=st.sampled_from([bytes, bytearray]))
    def test_masker_chunks(self, mask, chunks, key_type):
        a = self.original(key_type(mask))
        b = self.replacement(key_type(mask))
        for chunk in chunks:
            for kind in (bytes, bytearray):
                pass
            out_a, out_b = a.process(bytearray(chunk)), b.process(bytearray(chunk))
            # (bytearray from wsproto 1.3; 1.2 returns bytes, or an empty input as is)
            assert type(out_b) is type(out_a)
            assert out_a == out_b
            assert bytes(a._masking_key) == bytes(b._masking_key)

    def test_process_returns_a_new_buffer(self):
        buf = bytearray(b"hello world")
        out = self.replacement(b"\x01\x02\x03\x04").process(buf)
        assert out is not buf and buf == bytearray(b"hello world")
        assert type(out) is type(self.original(b"\x01\x02\x03\x04").process(buf))
        empty = bytearray()
        out = self.replacement(b"\x01\x02\x03\x04").process(empty)
        theirs = self.original(b"\x01\x02\x03\x04").process(empty)
        # wsproto 1.3: a new empty bytearray; 1.2: the empty input itself.
        assert out == bytearray() and (out is empty) == (theirs is empty)
        assert type(out) is type(theirs)


# ------------------------------------------------------------------------------ aiohttp
class TestAiohttp:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("aiohttp")
        from aiohttp._websocket import helpers, writer

        self.original = writer.websocket_mask
        self.pure = helpers._websocket_mask_python
        accelerate("aiohttp")
        self.replacement = writer.websocket_mask

    @settings(max_examples=150)
    @given(data=DATA, mask=MASKS)
    def test_in_place(self, data, mask):
        a, b, c = bytearray(data), bytearray(data), bytearray(data)
        assert self.replacement(mask, b) is None
        self.original(mask, a)
        self.pure(mask, c)
        assert a == b == c

    @pytest.mark.parametrize(
        "args",
        [
            (b"abc", bytearray(b"xyz")),
            (bytearray(b"abcd"), bytearray(b"xyz")),
            (b"abcd", b"xyz"),
            (b"abcd", memoryview(bytearray(b"xyz"))),
            (b"abcd", None),
        ],
    )
    def test_same_errors(self, args):
        a = _outcome(self.original, *args)
        b = _outcome(self.replacement, *args)
        assert a[0] == b[0] and a[1:2] == b[1:2]


# ------------------------------------------------------------------------------ tornado
class TestTornado:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("tornado")
        import tornado.util
        import tornado.websocket

        self.original = tornado.websocket._websocket_mask
        self.pure = tornado.util._websocket_mask_python
        accelerate("tornado")
        self.replacement = tornado.websocket._websocket_mask
        assert tornado.util._websocket_mask.__wrapped__ is self.original

    @settings(max_examples=150)
    @given(data=DATA, mask=MASKS)
    def test_same_result(self, data, mask):
        got = self.replacement(mask, data)
        assert type(got) is bytes
        assert got == self.original(mask, data) == self.pure(mask, data)

    @pytest.mark.parametrize(
        "args",
        [
            (b"abc", b"xyz"),
            (b"abcd", "xyz"),
            ("abcd", b"xyz"),
            (bytearray(b"abcd"), b"xyz"),
            (b"abcd", bytearray(b"xyz")),
            (b"abcd", memoryview(b"xyz")),
        ],
    )
    def test_same_errors_and_edge_types(self, args):
        assert _outcome(self.replacement, *args) == _outcome(self.original, *args)


# ------------------------------------------------------------------------------ autobahn
def _autobahn_pure_validator():
    """autobahn's pure-Python validator, whatever AUTOBAHN_USE_NVX says."""
    spec = importlib.util.find_spec("autobahn.websocket.utf8validator")
    with open(spec.origin) as f:
        source = f.read()
    source = source.replace("from autobahn.websocket import USES_NVX", "USES_NVX = False")
    namespace = {"__name__": "autobahn_pure_utf8validator"}
    exec(compile(source, spec.origin, "exec"), namespace)
    return namespace["Utf8Validator"]


class TestAutobahn:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("autobahn")
        import autobahn.websocket.protocol as protocol

        self.orig_masker = protocol.create_xor_masker
        self.orig_validator = protocol.Utf8Validator
        self.pure_validator = _autobahn_pure_validator()
        accelerate("autobahn")
        self.masker = protocol.create_xor_masker
        self.validator = protocol.Utf8Validator

    @settings(max_examples=150)
    @given(mask=MASKS, chunks=CHUNKS, length=st.sampled_from([None, 10, 200]))
    def test_masker(self, mask, chunks, length):
        a, b = self.orig_masker(mask, length), self.masker(mask, length)
        for i, chunk in enumerate(chunks):
            out = b.process(chunk)
            assert type(out) is bytes
            assert a.process(chunk) == out
            assert a.pointer() == b.pointer()
            if i == 3:
                a.reset()
                b.reset()
                assert b.pointer() == 0

    @settings(max_examples=300)
    @given(data=_utf8ish(), cuts=st.lists(st.integers(0, 64), max_size=4))
    def test_validator_quads_match_the_dfa(self, data, cuts):
        chunks = split(data, cuts)
        pure, nvx, ours = self.pure_validator(), self.orig_validator(), self.validator()
        failed = False
        for chunk in chunks:
            expected = pure.validate(chunk)
            got = ours.validate(chunk)
            assert got == expected, (chunks, chunk)
            if not failed:
                # The library's active validator (NVX here, usually) agrees until the
                # first failure; after it, NVX restarts and the DFA stays failed.
                assert nvx.validate(chunk) == got
            failed = failed or not got[0]

    def test_validator_reset(self):
        v = self.validator()
        assert v.validate(b"\xff") == (False, False, 0, 0)
        assert v.validate(b"abc") == (False, False, 0, 0)
        v.reset()
        assert v.validate(b"abc") == (True, True, 3, 3)
        assert v.validate("€".encode()[:2]) == (True, False, 2, 5)


# ------------------------------------------------------------------------------ websocket-client
class TestWebsocketClient:
    @pytest.fixture(autouse=True)
    def _setup(self, accelerate):
        require("websocket_client")
        from websocket import _abnf, _utils

        self.orig_mask = _abnf.ABNF.mask
        self.orig_validate = _utils._validate_utf8
        self.orig_public = _utils.validate_utf8
        accelerate("websocket_client")
        self.mask = _abnf.ABNF.mask
        self.validate = _utils._validate_utf8

    @settings(max_examples=150)
    @given(data=DATA, mask=MASKS)
    def test_mask(self, data, mask):
        got = self.mask(mask, data)
        assert type(got) is bytes
        assert got == self.orig_mask(mask, data)
        latin = data.decode("latin-1")
        assert self.mask(mask.decode("latin-1"), latin) == self.orig_mask(
            mask.decode("latin-1"), latin
        )

    @pytest.mark.parametrize(
        "args",
        [(b"abcd", None), ("abcd", "xyz"), (b"abc", b"xyz"), (b"abcde", b"xyz"), (b"abcd", "é€")],
    )
    def test_mask_edge_cases(self, args):
        assert _outcome(self.mask, *args) == _outcome(self.orig_mask, *args)

    @settings(max_examples=300)
    @given(data=_utf8ish())
    def test_validate_is_as_lax_as_the_library(self, data):
        from websocket import _utils

        assert self.validate(data) == self.orig_validate(data)
        assert _utils.validate_utf8(data) == self.orig_validate(data)

    def test_truncated_text_still_passes(self):
        from websocket import _utils

        assert self.orig_validate(b"\xe2\x82") is True  # the library's own lax answer
        assert self.validate(b"\xe2\x82") is True
        assert self.validate(b"\xed\xa0\x80") is False
        if require("websocket_client").version_tuple() >= (1, 9, 1):
            assert _utils.validate_utf8("\ud800") is False
            assert _utils.validate_utf8("€") is True
        else:
            # Before 1.9.1 validate_utf8 hands a str to _validate_utf8 as it is: its own
            # pure-Python DFA raises on it; the replacement passes a str to it (same error).
            for text in ("\ud800", "€"):
                with pytest.raises(Exception) as theirs:
                    self.orig_validate(text)
                with pytest.raises(type(theirs.value)):
                    _utils.validate_utf8(text)


def test_random_large_payloads_all_libraries(accelerate):
    """Big payloads across the vector widths, with every installed library accelerated."""
    rng = random.Random(7)
    sizes = [0, 1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 4095, 65536, 1 << 20]
    for name in ("websockets", "tornado", "aiohttp", "wsproto"):
        try:
            require(name)
        except pytest.skip.Exception:
            continue
        accelerate(name)
    for size in sizes:
        data = os.urandom(size)
        mask = bytes(rng.getrandbits(8) for _ in range(4))
        n = size
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        expected = (int.from_bytes(data, "big") ^ key).to_bytes(n, "big") if n else b""
        try:
            from websockets import frames

            assert frames.apply_mask(data, mask) == expected
        except ImportError:
            pass
        try:
            import tornado.websocket

            assert tornado.websocket._websocket_mask(mask, data) == expected
        except ImportError:
            pass
        try:
            from aiohttp._websocket import writer

            buf = bytearray(data)
            writer.websocket_mask(mask, buf)
            assert buf == expected
        except ImportError:
            pass
        try:
            from wsproto import frame_protocol

            assert frame_protocol.XorMaskerSimple(mask).process(data) == expected
        except ImportError:
            pass
