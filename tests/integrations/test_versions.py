"""Supported version ranges: what each integration accepts, refuses, and says when it refuses.

The ranges are the releases whose patched functions were read (``pip download`` of each
sdist, the functions compared) and kept the contract the replacements rely on; the
matrix of ``scripts/run_library_suites.sh --matrix`` runs each library's own suite on the
oldest, a middle and the newest of them (docs/integrations/matrix.md).
"""

import warnings

import pytest

import wsframe.integrations as wi
from wsframe.integrations import IntegrationWarning

# (library, versions accepted, versions refused, range named in the warning)
RANGES = [
    ("websockets", ["13.0", "13.1", "14.2", "15.0.1", "16.1.1", "17.4", "17.9"],
     ["12.0", "11.0.3", "18.0", "18.0rc1"], ">= 13, < 18"),
    ("aiohttp", ["3.11.0", "3.11.18", "3.12.15", "3.13.0", "3.13.1", "3.13.2", "3.13.5", "3.14.5"],
     ["3.9.5", "3.10.11", "3.15.0", "4.0.0"],
     ">= 3.11, < 3.15"),
    ("tornado", ["6.2", "6.3.3", "6.4.2", "6.5.10", "6.6.1"],
     ["6.1", "6.0.4", "6.7", "7.0"], ">= 6.2, < 6.7"),
    ("wsproto", ["1.2.0", "1.3.0", "1.3.2"], ["1.1.0", "1.4.0", "2.0"], ">= 1.2, < 1.4"),
    ("autobahn", ["25.9.1", "25.12.2", "26.10.2", "26.11.1"],
     ["24.4.2", "25.8.1", "26.12.1", "27.1.1"], ">= 25.9, < 26.12"),
    ("websocket_client", ["1.8.0", "1.9.0", "1.9.2"], ["1.7.0", "1.10.0", "2.0.0"],
     ">= 1.8, < 1.10"),
]


def _restore(integ, was, monkeypatch):
    """Undo a test's version patch and put the integration back as it was found."""
    monkeypatch.undo()
    if was:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            integ.install(force=True)


@pytest.mark.parametrize("name,accepted,refused,text", RANGES, ids=[r[0] for r in RANGES])
def test_supported_range(name, accepted, refused, text):
    integ = wi.get(name)
    assert integ.supported_range() == text
    for version in accepted:
        assert integ.known_version(version), version
    for version in refused:
        assert not integ.known_version(version), version
    assert not integ.known_version("")
    assert not integ.known_version("dev")
    # The versions the matrix runs are all inside the range.
    for version in integ.tested:
        assert integ.known_version(version), version


@pytest.mark.parametrize("name", [r[0] for r in RANGES])
def test_refused_version_warns_with_the_range_and_patches_nothing(name, monkeypatch):
    integ = wi.get(name)
    if not integ.available():
        pytest.skip("%s is not installed" % integ.dist)
    was = integ.installed
    integ.uninstall()
    try:
        refused = next(v for r in RANGES if r[0] == name for v in r[2])
        monkeypatch.setattr(integ, "version", lambda: refused)
        with pytest.warns(IntegrationWarning) as record:
            assert integ.install(force=True) == ()
        message = str(record[0].message)
        assert "%s %s is not a version" % (integ.dist, refused) in message
        assert "supported: %s %s" % (integ.dist, integ.supported_range()) in message
        assert not integ.installed
        # With no name given, install() skips it the same way (and warns).
        with pytest.warns(IntegrationWarning):
            assert name not in wi.install(force=True)
    finally:
        wi.uninstall()
        _restore(integ, was, monkeypatch)


def test_installed_versions_are_supported():
    """The dev environment's libraries are all inside their ranges (else the other
    integration tests would skip silently)."""
    for name in wi.LIBRARIES:
        integ = wi.get(name)
        if integ.available():
            assert integ.known_version(), (name, integ.version())


def _wsproto12_process(masking_key, data):
    """wsproto 1.2.0's XorMaskerSimple.process, as its source reads (a reference)."""
    if data:
        table = [bytes(i ^ j for i in range(256)) for j in range(256)]
        arr = bytearray(data)
        a, b, c, d = (table[n] for n in masking_key)
        arr[::4] = arr[::4].translate(a)
        arr[1::4] = arr[1::4].translate(b)
        arr[2::4] = arr[2::4].translate(c)
        arr[3::4] = arr[3::4].translate(d)
        rotation = len(data) % 4
        return masking_key[rotation:] + masking_key[:rotation], bytes(arr)
    return masking_key, data


@pytest.mark.parametrize("key_type", [bytes, bytearray])
def test_wsproto12_masker_returns_what_12_returns(key_type):
    from wsframe.integrations.wsproto import XorMaskerSimpleBytes

    key = key_type(b"\x01\x80\xfe\x37")
    ours = XorMaskerSimpleBytes(key)
    ref_key = key
    for chunk in (b"", b"a", b"bcdefg", bytearray(b"hij"), b"x" * 1027, b"", b"yz"):
        got = ours.process(chunk)
        ref_key, want = _wsproto12_process(ref_key, chunk)
        assert got == want and type(got) is type(want)
        if not chunk:
            assert got is chunk  # 1.2 hands an empty input back as it is
        assert ours._masking_key == ref_key


def test_wsproto12_decoder_payload_types():
    """With 1.2's payload types, the fast path gives what 1.2's own code gives: bytes for
    a masked payload, the buffer's bytearray for an unmasked or empty one."""
    integ = wi.get("wsproto")
    if not integ.available():
        pytest.skip("wsproto is not installed")
    from wsproto import frame_protocol as fp

    from wsframe.integrations.wsproto import _make_replacements

    process_buffer, _, _ = _make_replacements(fp, payload_as_bytes=False)
    key = b"\x11\x22\x33\x44"
    masked = bytes([0x82, 0x83]) + key + bytes(x ^ k for x, k in zip(b"abc", key))
    masked_empty = bytes([0x82, 0x80]) + key
    unmasked = bytes([0x82, 0x03]) + b"abc"
    for client, wire, kind, payload in (
        (False, masked, bytes, b"abc"),
        (False, masked_empty, bytearray, b""),
        (True, unmasked, bytearray, b"abc"),
    ):
        decoder = fp.FrameDecoder(client=client)
        decoder.receive_bytes(wire)
        frame = process_buffer(decoder)
        assert frame.payload == payload and type(frame.payload) is kind
        assert frame.frame_finished and frame.message_finished
        assert decoder.header is None and len(decoder.buffer) == 0


def test_websockets13_payload_too_big_text():
    """websockets 13.x raises PayloadTooBig with its message text; 14+ with the sizes."""
    integ = wi.get("websockets")
    if not integ.available():
        pytest.skip("websockets is not installed")
    from websockets import frames
    from websockets.exceptions import PayloadTooBig

    from wsframe.integrations.websockets import _make_parse

    original = frames.Frame.__dict__["parse"].__func__
    wire = bytes([0x82, 0x7E, 0x01, 0x00])  # 256 bytes announced, unmasked
    cases = [(True, lambda e: str(e) == "over size limit (256 > 100 bytes)")]
    if integ.version_tuple() >= (14,):  # (PayloadTooBig(size, max_size) exists from 14.0)
        cases.append((False, lambda e: (e.size, e.max_size) == (256, 100)))
    for text, check in cases:
        parse = _make_parse(frames, original, too_big_text=text).__get__(None, frames.Frame)
        data = iter([wire[:2], wire[2:4]])

        def read_exact(n, data=data):
            chunk = next(data)
            assert len(chunk) == n
            return chunk
            yield  # (a generator, as websockets' read_exact)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            gen = parse(read_exact, mask=False, max_size=100)
            with pytest.raises(PayloadTooBig) as info:
                next(gen)
        assert check(info.value)


def test_aiohttp_before_the_frame_writer_gets_only_the_masker(monkeypatch):
    """3.11.0-3.13.1: no _write_websocket_frame; the pure-Python masker alone is replaced
    (nothing with aiohttp's compiled one unless forced)."""
    integ = wi.get("aiohttp")
    if not integ.available():
        pytest.skip("aiohttp is not installed")
    import wsframe

    if wsframe.implementation != "c":
        pytest.skip("install() without force needs the C extension")
    from aiohttp._websocket import helpers, writer

    was = integ.installed
    integ.uninstall()
    original = writer.WebSocketWriter.__dict__.get("_write_websocket_frame")
    try:
        monkeypatch.setattr(integ, "version", lambda: "3.12.15")
        compiled = helpers.websocket_mask is not helpers._websocket_mask_python
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            replaced = integ.install()
        if compiled:
            assert replaced == ()
        else:
            assert replaced == ("aiohttp._websocket.writer.websocket_mask",
                                "aiohttp._websocket.reader_py.websocket_mask")
        assert writer.WebSocketWriter.__dict__.get("_write_websocket_frame") is original
        integ.uninstall()
        forced = integ.install(force=True)
        assert forced == ("aiohttp._websocket.writer.websocket_mask",
                          "aiohttp._websocket.reader_py.websocket_mask")
        assert writer.websocket_mask.__module__ == "wsframe.integrations.aiohttp"
        assert writer.WebSocketWriter.__dict__.get("_write_websocket_frame") is original
    finally:
        integ.uninstall()
        _restore(integ, was, monkeypatch)
