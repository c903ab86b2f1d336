"""The sections: what is measured, on which inputs, and how each result is checked.

A section is a list of :class:`Group` (one input: a size, a corpus, a role); preparing a
group builds its inputs and every candidate's callable, and runs each candidate once to
check its result against an independent reference (a candidate that returns a wrong
result is skipped with the reason, never timed).
"""

import random

from . import _corpora
from . import _peers
from ._peers import Skip

__all__ = ["SECTIONS", "SECTION_TITLES", "Group", "build_sections", "size_label"]

SECTIONS = ("mask", "utf8", "decode", "encode", "deflate", "integrations")
SECTION_TITLES = {
    "mask": "Masking (XOR with the 4-byte key)",
    "utf8": "UTF-8 validation",
    "decode": "Decoding, server role (masked frames fed in 256 KiB chunks)",
    "encode": "Encoding one text message (client: masked, server: unmasked)",
    "deflate": "permessage-deflate text messages (context takeover, window 15)",
    "integrations": "Each library's own receive/send path, as is and with "
                    "wsframe.integrations installed",
}

KiB = 1024
MiB = 1024 * 1024
CHUNK = 256 * KiB
KEY = b"\x37\xfa\x21\x3d"


def size_label(n):
    if n >= MiB and n % MiB == 0:
        return "%d MiB" % (n // MiB)
    if n >= KiB and n % KiB == 0:
        return "%d KiB" % (n // KiB)
    return "%d B" % n


class Group(object):
    """One measured input of a section.

    ``variant`` distinguishes sub-tables ("new buffer"/"in place", corpus, frame kind,
    role); ``size`` is the payload size; ``bytes_per_op`` and ``items_per_op`` turn a
    time per operation into throughputs (``items`` are frames for decode).
    """

    def __init__(self, section, variant, size, prepare, bytes_per_op, items_per_op=1,
                 item_name="op", params=None):
        self.section = section
        self.variant = variant
        self.size = size
        self._prepare = prepare
        self.bytes_per_op = bytes_per_op
        self.items_per_op = items_per_op
        self.item_name = item_name
        self.params = dict(params or {})
        self.params.setdefault("size", size)
        self.params.setdefault("variant", variant)
        # The codec sections allocate events and frames: the garbage collector's share
        # of that cost is part of what they measure. The primitives allocate at most
        # one untracked buffer per call and are timed with it off.
        self.gc_enabled = section not in ("mask", "utf8")

    @property
    def label(self):
        return "%s, %s" % (self.variant, size_label(self.size))

    def prepare(self, candidates):
        """``[(candidate, func, args)]`` checked, and ``[(candidate, reason)]`` skipped."""
        return self._prepare(candidates)


def _check_each(candidates, make_args, check):
    ok = []
    bad = []
    for cand in candidates:
        try:
            func, args = cand.make(*make_args)
            if cand.before is not None:
                cand.before()
            check(cand, func, args)
        except Skip as exc:
            bad.append((cand, str(exc)))
            continue
        except Exception as exc:
            bad.append((cand, "failed: %s: %s" % (type(exc).__name__, exc)))
            continue
        ok.append((cand, func, args))
    return ok, bad


def _payload(size, seed):
    rng = random.Random(seed * 1000003 + size)
    block = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
    if size <= len(block):
        return block[:size]
    return (block * (size // len(block) + 1))[:size]


def _mask_groups(sizes):
    groups = []
    for size in sizes:
        def prep_new(cands, size=size):
            data = _payload(size, 1)
            expected = _corpora.xor_mask(data, KEY)

            def check(cand, func, args):
                out = func(*args)
                if cand.kind != "reference" and bytes(out) != expected:
                    raise Skip("wrong result")

            return _check_each(cands, (data, KEY), check)

        groups.append(Group("mask", "new buffer", size, prep_new, size))
    for size in sizes:
        def prep_inplace(cands, size=size):
            data = _payload(size, 2)
            expected = _corpora.xor_mask(data, KEY)
            buf = bytearray(data)

            def check(cand, func, args):
                buf[:] = data
                func(*args)
                if cand.kind != "reference" and buf != expected:
                    raise Skip("wrong result")

            return _check_each(cands, (buf, KEY), check)

        groups.append(Group("mask", "in place", size, prep_inplace, size))
    return groups


def _utf8_groups(sizes):
    groups = []
    for name in _corpora.CORPORA:
        for size in sizes:
            def prep(cands, name=name, size=size):
                data = _corpora.corpus(name, size)
                bad = data[:-1] + b"\xff"

                def check(cand, func, args):
                    if not func(*args):
                        raise Skip("rejected valid UTF-8")
                    f2, a2 = cand.make(bad)
                    try:
                        res = f2(*a2)
                    except UnicodeDecodeError:
                        res = False
                    if res:
                        raise Skip("accepted invalid UTF-8")

                return _check_each(cands, (data,), check)

            groups.append(Group("utf8", name, size, prep, size))
    return groups


def _decode_groups(spec):
    """``spec``: [(size, count)] per kind."""
    groups = []
    for kind in ("text", "binary"):
        for size, count in spec:
            def prep(cands, kind=kind, size=size, count=count):
                stream, payload = _corpora.masked_stream(kind, size, count)
                chunks = _corpora.chunked(stream, CHUNK)
                expected = payload.decode("utf-8") if kind == "text" else payload

                def check(cand, func, args):
                    n, last = func(*args)
                    if n != count:
                        raise Skip("decoded %d messages instead of %d" % (n, count))
                    if last != expected:
                        raise Skip("wrong payload (%s)" % type(last).__name__)

                return _check_each(cands, (chunks, kind), check)

            groups.append(Group("decode", kind, size, prep, size * count, count,
                                item_name="frame",
                                params={"frames": count, "chunk": CHUNK}))
    return groups


def _encode_groups(sizes):
    groups = []
    for role in ("client", "server"):
        for size in sizes:
            def prep(cands, role=role, size=size):
                text = _corpora.corpus("french", size).decode("utf-8")
                raw = text.encode("utf-8")

                def check(cand, func, args):
                    out = func(*args)
                    if not isinstance(out, (bytes, bytearray)):
                        out = b"".join(bytes(p) for p in out)
                    frames = _corpora.parse_frames(out)
                    if len(frames) != 1:
                        raise Skip("%d frames instead of 1" % len(frames))
                    fin, rsv1, opcode, masked, payload = frames[0]
                    if not fin or rsv1 or opcode != 1 or payload != raw:
                        raise Skip("wrong frame")
                    if masked != (role == "client"):
                        raise Skip("masking does not match the role")

                return _check_each(cands, (role, text), check)

            groups.append(Group("encode", role, size, prep, size))
    return groups


def text_messages(size, count):
    """``count`` different text messages of exactly ``size`` UTF-8 bytes (French prose),
    consecutive pieces of one long text, so compression has realistic context."""
    big = _corpora.corpus("french", size * count + 4 * count + 16)
    out = []
    pos = 0
    for _ in range(count):
        piece = big[pos : pos + size]
        i = len(piece)
        # Cut on a character boundary.
        while i > 0 and i < len(big) - pos and (big[pos + i] & 0xC0) == 0x80:
            i -= 1
        piece = big[pos : pos + i]
        pos += i
        out.append((piece + b" " * (size - len(piece))).decode("utf-8"))
    return out


def _deflate_stream(messages):
    """Masked client frames, each message compressed with one shared zlib stream."""
    import zlib

    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    rng = random.Random(7)
    frames = []
    for m in messages:
        data = comp.compress(m.encode("utf-8")) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        key = rng.getrandbits(32).to_bytes(4, "little")
        frames.append(_corpora.build_frame(1, data[:-4], key, rsv1=True))
    return b"".join(frames)


def _deflate_groups(spec):
    groups = []
    for size, count in spec:
        def prep(cands, size=size, count=count):
            messages = text_messages(size, count)
            stream = _deflate_stream(messages)
            chunks = _corpora.chunked(stream, CHUNK)
            expected = messages[-1]

            def check(cand, func, args):
                n, last = func(*args)
                if n != count:
                    raise Skip("decoded %d messages instead of %d" % (n, count))
                if last != expected:
                    raise Skip("wrong payload (%s)" % type(last).__name__)

            return _check_each(cands, (chunks,), check)

        groups.append(Group("deflate", "decode (server)", size, prep, size * count, count,
                            item_name="message",
                            params={"messages": count, "chunk": CHUNK}))
    for size, count in spec:
        def prep_enc(cands, size=size):
            import zlib

            text = text_messages(size, 1)[0]
            raw = text.encode("utf-8")

            def check(cand, func, args):
                out = func(*args)
                if not isinstance(out, (bytes, bytearray)):
                    out = b"".join(bytes(p) for p in out)
                frames = _corpora.parse_frames(out)
                if len(frames) != 1:
                    raise Skip("%d frames instead of 1" % len(frames))
                fin, rsv1, opcode, masked, payload = frames[0]
                if not (fin and rsv1 and masked and opcode == 1):
                    raise Skip("not a compressed masked text frame")
                d = zlib.decompressobj(-15)
                if d.decompress(payload + b"\x00\x00\xff\xff") != raw:
                    raise Skip("does not inflate to the message")

            return _check_each(cands, (text,), check)

        groups.append(Group("deflate", "encode (client)", size, prep_enc, size))
    return groups


def _integration_groups(cases, install, uninstall):
    impl = None
    try:
        import wsframe

        impl = getattr(wsframe, "implementation", None)
    except Exception:
        pass
    groups = []
    for case in cases:
        def prep(_cands, case=case):
            cands = _peers.integration_candidates(case, install, uninstall, impl)

            def check(cand, func, args):
                func(*args)

            return _check_each(cands, (), check)

        groups.append(Group("integrations", "%s %s" % (case.library, case.path), case.size,
                            prep, case.size * case.batch, case.batch,
                            item_name="message",
                            params={"library": case.library, "path": case.path,
                                    "batch": case.batch}))
    return groups


# Sizes per mode.
_PLANS = {
    "full": {
        "mask": [2, 16, 128, KiB, 16 * KiB, 256 * KiB, MiB, 16 * MiB],
        "utf8": [KiB, 16 * KiB, 256 * KiB, MiB],
        "decode": [(32, 100000), (KiB, 4096), (64 * KiB, 64)],
        "encode": [32, KiB, 64 * KiB],
        "deflate": [(KiB, 4096), (16 * KiB, 256), (64 * KiB, 64)],
        "integrations": [32, KiB, 64 * KiB],
    },
    "quick": {
        "mask": [2, KiB, 64 * KiB, MiB, 16 * MiB],
        "utf8": [KiB, 64 * KiB, MiB],
        "decode": [(32, 10000), (KiB, 512), (64 * KiB, 16)],
        "encode": [32, KiB, 64 * KiB],
        "deflate": [(KiB, 256), (64 * KiB, 8)],
        "integrations": [KiB],
    },
    # For tests of the command itself: tiny inputs, results meaningless.
    "smoke": {
        "mask": [2, 300],
        "utf8": [KiB],
        "decode": [(32, 50), (KiB, 3)],
        "encode": [32, 300],
        "deflate": [(300, 4)],
        "integrations": [32],
    },
}

_CANDIDATES = {
    "mask": None,  # two candidate lists, chosen per group variant
    "utf8": _peers.utf8_candidates,
    "decode": _peers.decode_candidates,
    "encode": _peers.encode_candidates,
}


def build_sections(names, mode, impls):
    """``[(section, groups, candidates_by_variant, skipped, cleanup)]``.

    ``candidates_by_variant`` maps a group variant (or None for all) to its candidates;
    ``skipped`` is ``[(library, reason)]`` for the whole section; ``cleanup`` is None or
    a function to call once the section is measured.
    """
    plan = _PLANS[mode]
    out = []
    for name in names:
        if name == "mask":
            c_new, s_new = _peers.mask_candidates(impls)
            c_in, s_in = _peers.mask_inplace_candidates(impls)
            skipped = [(lib, "new buffer: " + r) for lib, r in s_new]
            skipped += [(lib, "in place: " + r) for lib, r in s_in]
            groups = _mask_groups(plan["mask"])
            out.append((name, groups, {"new buffer": c_new, "in place": c_in}, skipped, None))
        elif name == "utf8":
            cands, skipped = _peers.utf8_candidates(impls)
            out.append((name, _utf8_groups(plan["utf8"]), {None: cands}, skipped, None))
        elif name == "decode":
            cands, skipped = _peers.decode_candidates(impls)
            out.append((name, _decode_groups(plan["decode"]), {None: cands}, skipped, None))
        elif name == "encode":
            cands, skipped = _peers.encode_candidates(impls)
            out.append((name, _encode_groups(plan["encode"]), {None: cands}, skipped, None))
        elif name == "deflate":
            try:
                _peers.resolve("wsframe.deflate", "PerMessageDeflate")
            except Skip as exc:
                out.append((name, [], {None: []}, [("wsframe", str(exc))], None))
                continue
            c_dec, s_dec = _peers.deflate_decode_candidates(impls)
            c_enc, s_enc = _peers.deflate_encode_candidates(impls)
            skipped = [(lib, "decode: " + r) for lib, r in s_dec]
            skipped += [(lib, "encode: " + r) for lib, r in s_enc]
            out.append((name, _deflate_groups(plan["deflate"]),
                        {"decode (server)": c_dec, "encode (client)": c_enc}, skipped, None))
        elif name == "integrations":
            found, reason = _peers.integration_cases(plan["integrations"])
            if found is None:
                out.append((name, [], {None: []}, [("wsframe.integrations", reason)], None))
                continue
            cases, install, uninstall = found
            cleanup = _integrations_restorer(install, uninstall)
            out.append((name, _integration_groups(cases, install, uninstall), {None: []},
                        [], cleanup))
        else:
            raise ValueError("unknown section %r" % name)
    return out


def _integrations_restorer(install, uninstall):
    """A function that puts every library back in the state it has now."""
    import warnings

    import wsframe.integrations as integ

    try:
        before = dict(integ.installed())
    except Exception:
        before = {}

    def restore():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for lib in getattr(integ, "LIBRARIES", ()):
                try:
                    if lib in before:
                        install(lib, force=True)
                    else:
                        uninstall(lib)
                except Exception:
                    pass

    return restore
