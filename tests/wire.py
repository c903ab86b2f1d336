"""Raw frame bytes built by hand, independent of wsframe's encoder, for crafting any
input (valid or not) the decoder must handle."""

import struct

KEY = b"\x37\xfa\x21\x3d"


def mask_bytes(payload, key):
    return bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def frame(opcode, payload=b"", *, fin=True, rsv=0, key=KEY, length_form=None, length=None):
    """One frame. ``key=None`` sends it unmasked; ``length_form`` forces 7, 16 or 64-bit
    length encoding; ``length`` overrides the declared length (payload unchanged)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if key is not None else 0
    form = length_form or (7 if n < 126 else 16 if n < 65536 else 64)
    if form == 7:
        head = bytes((b0, mbit | n))
    elif form == 16:
        head = bytes((b0, mbit | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, mbit | 127)) + struct.pack("!Q", n)
    if key is None:
        return head + payload
    return head + key + mask_bytes(payload, key)


def client(opcode, payload=b"", **kw):
    """A frame as a client sends it (masked): what a server-role decoder expects."""
    return frame(opcode, payload, **kw)


def server(opcode, payload=b"", **kw):
    """A frame as a server sends it (unmasked): what a client-role decoder expects."""
    kw.setdefault("key", None)
    return frame(opcode, payload, **kw)


def peer(role):
    """The frame builder of the peer of a decoder of ``role``."""
    return client if role == "server" else server


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def split(data, cuts):
    """``data`` cut at the points ``cuts`` (taken modulo its length + 1): the pieces."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces
