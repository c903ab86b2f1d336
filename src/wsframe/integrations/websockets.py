"""websockets: ``Frame.serialize``, ``Frame.parse`` and ``apply_mask`` in ``websockets.frames``.

``Frame.serialize`` (every frame sent) and ``Frame.parse`` (every frame received) are
replaced: with or without websockets' compiled ``speedups``, most of their cost was not
the masking but the Python around it (``io.BytesIO`` and ``struct`` for the header, a call
of the ``Opcode`` enum per frame received). The replacements build the header with
``wsframe.encode_header``, mask with ``wsframe.apply_mask``, and look opcodes up in a
table; see docs/integrations/websockets.md for what that measured. Their behaviour is
websockets' own:

- ``serialize``: ``self.check()`` first, then each extension's ``encode`` in order; the
  masking key still comes from ``secrets.token_bytes(4)``, looked up at each call through
  ``websockets.frames`` (so a test that patches ``secrets.token_bytes`` gets the same
  bytes); a new ``bytes`` is returned. A payload that is not ``bytes``/``bytearray`` or
  a plain byte ``memoryview`` (permessage-deflate's), an opcode that is not an ``Opcode``, or a
  key that is not 4 bytes (a patched ``token_bytes``) takes a path built like websockets'
  own (``struct`` formats, ``websockets.frames.apply_mask``): same bytes, same
  exceptions.
- From ``LARGE`` (16 KiB) of payload on, ``serialize`` is websockets' own method and
  ``parse`` unmasks with websockets' own masker: end to end, a 64 KiB echo measured
  x0.89-0.92 CPU per message with wsframe doing it (docs/integrations/websockets.md).
- ``parse``: the same generator: it reads through ``read_exact`` the same sizes in the
  same order (2, then 2 or 8, the size check, then the key, then the payload), so it
  yields when websockets' parser would and raises the same exceptions at the same point
  (``ProtocolError("invalid opcode")`` chained from the enum's ``ValueError``,
  ``"incorrect masking"``, ``PayloadTooBig`` before the payload is read); the frame is
  built with ``cls(...)``, extensions decode it in reverse order, then ``frame.check()``.

``websockets.frames.apply_mask`` (left for anything else that calls it, e.g.
``websockets.legacy.framing``) is only replaced where websockets masks in pure Python
(``websockets.utils.apply_mask``, a big-integer XOR: no compiled ``websockets.speedups``,
e.g. a source install or PyPy). Against its compiled masker the replacement was measured
not to pay (0.88-0.96x: one more Python call layer); ``install(force=True)`` replaces it
anyway. Kept exactly as websockets does it: a new ``bytes``; anything else than a
``bytes``/``bytearray`` payload and a ``bytes``/``bytearray`` key of 4 bytes goes to
websockets' own function, so its ``TypeError``/``ValueError`` stay websockets'.
``websockets.legacy.framing`` gets the same replacement when it is already imported
(importing it ourselves would emit websockets' deprecation warning).
"""

import sys

import wsframe as _wsf

from ._base import Integration

__all__ = ["install", "uninstall", "is_installed", "INTEGRATION"]

_BYTES = (bytes, bytearray)

# From this payload size on, serialize() calls websockets' own method and parse() unmasks
# with websockets' own masker: end to end over loopback (scripts/e2e_integrations.py), a
# 64 KiB echo cost x0.89-0.92 CPU per message on both sides with the replacements doing
# it, with or without glibc's trim/mmap thresholds raised (docs/integrations/websockets.md);
# below it they pay (x1.06-1.08 at 32 B).
LARGE = 16384


def _make_mask(original):
    wsf_apply_mask = _wsf.apply_mask

    def apply_mask(data, mask):
        if type(data) in _BYTES and type(mask) in _BYTES and len(mask) == 4:
            return wsf_apply_mask(data, mask)
        return original(data, mask)

    apply_mask.__wrapped__ = original
    return apply_mask


def _is_byte_view(data):
    """A memoryview that reads as its bytes in order (permessage-deflate's payloads): its
    len() is its size in bytes and it concatenates and masks as bytes would."""
    return (
        type(data) is memoryview
        and data.ndim == 1
        and data.format == "B"
        and data.c_contiguous
    )


def _make_serialize(frames, original):
    """``Frame.serialize`` on wsframe's header encoder and masker."""
    encode_header = _wsf.encode_header
    wsf_apply_mask = _wsf.apply_mask
    Opcode = frames.Opcode

    def general(frame, mask, key=None):
        # Anything unusual: built step by step as websockets builds it (the same struct
        # formats into an io.BytesIO, its own masker), so that an odd opcode, payload or
        # key type raises the very same error at the same step.
        head1 = (
            (0x80 if frame.fin else 0)
            | (0x40 if frame.rsv1 else 0)
            | (0x20 if frame.rsv2 else 0)
            | (0x10 if frame.rsv3 else 0)
            | frame.opcode
        )
        head2 = 0x80 if mask else 0
        pack = frames.struct.pack
        output = frames.io.BytesIO()
        data = frame.data
        length = len(data)
        if length < 126:
            output.write(pack("!BB", head1, head2 | length))
        elif length < 65536:
            output.write(pack("!BBH", head1, head2 | 126, length))
        else:
            output.write(pack("!BBQ", head1, head2 | 127, length))
        if mask:
            if key is None:
                key = frames.secrets.token_bytes(4)
            output.write(key)
            data = frames.apply_mask(data, key)
        output.write(data)
        return output.getvalue()

    def serialize(self, *, mask, extensions=None):
        if type(self.data) in _BYTES and len(self.data) >= LARGE:
            return original(self, mask=mask, extensions=extensions)
        self.check()
        if extensions is not None:
            for extension in extensions:
                self = extension.encode(self)
        data = self.data
        opcode = self.opcode
        if type(opcode) is not Opcode or (
            type(data) not in _BYTES and not _is_byte_view(data)
        ):
            return general(self, mask)
        fin = True if self.fin else False
        rsv = (4 if self.rsv1 else 0) | (2 if self.rsv2 else 0) | (1 if self.rsv3 else 0)
        # (the member's int: encode_header takes a plain int on its fastest path)
        opcode = opcode._value_
        if not mask:
            if fin and not rsv:
                return encode_header(opcode, len(data)) + data
            return encode_header(opcode, len(data), fin=fin, rsv=rsv) + data
        key = frames.secrets.token_bytes(4)
        if type(key) not in _BYTES or len(key) != 4:
            return general(self, mask, key)  # (a patched token_bytes: its errors)
        if fin and not rsv:
            head = encode_header(opcode, len(data), mask=key)
        else:
            head = encode_header(opcode, len(data), fin=fin, rsv=rsv, mask=key)
        return head + wsf_apply_mask(data, key)

    serialize.__wrapped__ = original
    serialize.__doc__ = original.__doc__
    return serialize


def _make_parse(frames, original, too_big_text=False):
    """``Frame.parse`` (a classmethod generator) with a table for the opcode enum.

    ``too_big_text``: websockets 13.x raises ``PayloadTooBig("over size limit (N > M
    bytes)")``; from 14.0 on, ``PayloadTooBig(size, max_size)``.
    """
    from websockets.exceptions import PayloadTooBig, ProtocolError

    wsf_apply_mask = _wsf.apply_mask
    Opcode = frames.Opcode
    opcodes = [None] * 16
    for member in Opcode:
        opcodes[member.value] = member
    opcodes = tuple(opcodes)

    def parse(cls, read_exact, *, mask, max_size=None, extensions=None):
        data = yield from read_exact(2)
        # (struct looked up at each call, as websockets does: a test that patches
        # struct.unpack sees its patch.)
        head1, head2 = frames.struct.unpack("!BB", data)
        opcode = opcodes[head1 & 0x0F]
        if opcode is None:
            try:
                opcode = Opcode(head1 & 0x0F)  # raises the enum's own ValueError
            except ValueError as exc:
                raise ProtocolError("invalid opcode") from exc
        if (True if head2 & 0x80 else False) != mask:
            raise ProtocolError("incorrect masking")
        length = head2 & 0x7F
        if length == 126:
            data = yield from read_exact(2)
            (length,) = frames.struct.unpack("!H", data)
        elif length == 127:
            data = yield from read_exact(8)
            (length,) = frames.struct.unpack("!Q", data)
        if max_size is not None and length > max_size:
            if too_big_text:
                raise PayloadTooBig(f"over size limit ({length} > {max_size} bytes)")
            raise PayloadTooBig(length, max_size)
        if mask:
            key = yield from read_exact(4)
        data = yield from read_exact(length)
        if mask:
            if (
                length < LARGE
                and type(data) in _BYTES
                and type(key) in _BYTES
                and len(key) == 4
            ):
                data = wsf_apply_mask(data, key)
            else:
                data = frames.apply_mask(data, key)
        frame = cls(
            opcode,
            data,
            True if head1 & 0x80 else False,
            True if head1 & 0x40 else False,
            True if head1 & 0x20 else False,
            True if head1 & 0x10 else False,
        )
        # (reversed() of an empty list skipped: it does nothing; anything else goes
        # through reversed(), which raises for what websockets' reversed() raises for.)
        if extensions is not None and (extensions or type(extensions) is not list):
            for extension in reversed(extensions):
                frame = extension.decode(frame, max_size=max_size)
        frame.check()
        return frame

    parse.__wrapped__ = original
    parse.__doc__ = original.__doc__
    return classmethod(parse)


class WebsocketsIntegration(Integration):
    name = "websockets"
    module = "websockets"
    dist = "websockets"
    # Read from 13.0 to 17.4: serialize, parse, check, apply_mask keep their contract;
    # parse's PayloadTooBig took a message text before 14.0 (handled). 13.0 is the first
    # release of the new asyncio implementation.
    tested = ("13.0", "15.0.1", "17.4")
    minimum = (13,)
    below = (18,)

    def patches(self):
        from websockets import frames, utils

        out = []
        frame_cls = frames.Frame
        out.append(
            (
                frame_cls,
                "serialize",
                _make_serialize(frames, frame_cls.__dict__["serialize"]),
                "websockets.frames.Frame.serialize",
            )
        )
        out.append(
            (
                frame_cls,
                "parse",
                _make_parse(
                    frames,
                    frame_cls.__dict__["parse"].__func__,
                    too_big_text=self.version_tuple() < (14,),
                ),
                "websockets.frames.Frame.parse",
            )
        )
        modules = [(frames, "websockets.frames.apply_mask")]
        legacy = sys.modules.get("websockets.legacy.framing")
        if legacy is not None and hasattr(legacy, "apply_mask"):
            modules.append((legacy, "websockets.legacy.framing.apply_mask"))
        for module, dotted in modules:
            current = module.apply_mask
            # Measured: against websockets' compiled masker (websockets.speedups) the
            # replacement does not pay; against its pure-Python one it does. So only
            # the latter is replaced, unless forced.
            if current is utils.apply_mask or self.forced:
                out.append((module, "apply_mask", _make_mask(current), dotted))
        return out


INTEGRATION = WebsocketsIntegration()


def install(force=False):
    """Accelerate websockets; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore websockets' own functions; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
