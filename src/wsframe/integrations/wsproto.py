"""wsproto: the frame masker, the frame decoder's and message decoder's common case, and
the frame serialiser.

What is replaced (``wsproto.frame_protocol``):

``XorMaskerSimple``
    wsproto unmasks every received frame and masks every frame a client sends with
    ``XorMaskerSimple(key).process(data)``, four ``bytearray.translate`` passes over
    strided slices. The replacement keeps wsproto's contract exactly: ``process(data)``
    returns a *new* ``bytearray`` (an empty one for empty data), and the key rotates by
    ``len(data) % 4`` after each call so that the next chunk of the same frame continues
    where this one stopped; ``_masking_key`` holds the rotated key, as in wsproto.
    (wsproto 1.2 returns ``bytes``, and an empty input itself: so does
    ``XorMaskerSimpleBytes``, installed there instead.)

``FrameDecoder.process_buffer``
    Fast path: no extension on the decoder, no frame in progress, and a *complete*,
    ordinary frame at the start of the buffer (known opcode, no RSV bit, masked exactly
    when wsproto requires it, length in its shortest form, control frames final and at
    most 125 bytes). It is read with ``wsframe.parse_header`` and unmasked with
    ``wsframe.apply_mask``, and the decoder is left in the very state wsproto's own
    code leaves it in after that frame. The payload has wsproto's type: ``bytes`` from
    1.3; in 1.2 ``bytes`` when it was unmasked, else the ``bytearray`` wsproto's buffer
    gives (a client's frames, empty frames). Anything else (a header or payload still
    incomplete, a frame in progress, any rule broken, extensions such as
    permessage-deflate) is handed, untouched, to wsproto's own ``process_buffer``: every
    partial frame, ``ParseFailed`` message and close code is wsproto's.

``MessageDecoder.process_frame``
    Fast path: no message in progress and a frame that is a whole message (final, fully
    received). A text payload is decoded with ``bytes.decode("utf-8")`` (wsproto builds an
    incremental decoder per text message); a binary one passes through. If the text is
    not valid UTF-8, or in any other case (fragments, continuations, errors), wsproto's own
    ``process_frame`` runs on the untouched state and raises its own error.

``FrameProtocol._serialize_frame``
    Fast path: no extension, a ``bytes``/``bytearray`` payload, ``fin`` a bool, and a
    payload a control frame may carry. The header is ``wsframe.encode_header`` and a
    client's payload is masked with ``wsframe.apply_mask``; the masking key is still
    ``os.urandom(4)`` (looked up through wsproto's module, as its code does), called once
    per client frame. The result is the same ``bytearray``, byte for byte for the same
    key; anything else (extensions, other payload types, a control payload over 125 bytes: wsproto's
    ``ValueError``) goes to wsproto's own method.
"""

import wsframe as _wsf

from ._base import Integration

__all__ = [
    "install",
    "uninstall",
    "is_installed",
    "INTEGRATION",
    "XorMaskerSimple",
    "XorMaskerSimpleBytes",
]

_apply_mask = _wsf.apply_mask
_apply_mask_inplace = _wsf.apply_mask_inplace
_parse_header = _wsf.parse_header
_encode_header = _wsf.encode_header
_ProtocolError = _wsf.ProtocolError


class XorMaskerSimple:
    """wsproto's ``XorMaskerSimple`` over ``wsframe.apply_mask_inplace``."""

    def __init__(self, masking_key):
        self._masking_key = masking_key

    def process(self, data):
        data = bytearray(data)
        if data:
            key = self._masking_key
            _apply_mask_inplace(data, key)
            rotation = len(data) & 3
            if rotation:
                self._masking_key = key[rotation:] + key[:rotation]
        return data


class XorMaskerSimpleBytes(XorMaskerSimple):
    """wsproto 1.2's ``XorMaskerSimple``: ``bytes`` out, an empty input returned as is."""

    def process(self, data):
        if data:
            if type(data) is not bytes and type(data) is not bytearray:
                data = bytearray(data)  # (what 1.2 does first: its TypeError for a str)
            key = self._masking_key
            out = _apply_mask(data, key)
            rotation = len(data) & 3
            if rotation:
                self._masking_key = key[rotation:] + key[:rotation]
            return out
        return data


# Named as wsproto names its class (its decoder's masker shows the same type name).
XorMaskerSimpleBytes.__name__ = XorMaskerSimpleBytes.__qualname__ = "XorMaskerSimple"


def _make_replacements(fp, payload_as_bytes=True):
    """The replacement methods, bound to wsproto's originals and classes at install time.

    ``payload_as_bytes``: wsproto 1.3 hands every frame's payload over as ``bytes``;
    1.2 as what its masker returned (``bytes`` for a masked, non-empty payload, else the
    buffer's ``bytearray`` slice).
    """
    Frame = fp.Frame
    Opcode = fp.Opcode
    TEXT = Opcode.TEXT
    BINARY = Opcode.BINARY
    # The opcodes wsproto knows, by value; any other value goes to wsproto's own code.
    opcodes = {int(op): op for op in Opcode}
    orig_process_buffer = fp.FrameDecoder.__dict__["process_buffer"]
    orig_process_frame = fp.MessageDecoder.__dict__["process_frame"]
    orig_serialize = fp.FrameProtocol.__dict__["_serialize_frame"]

    def process_buffer(self):
        if self.header is None and not self.extensions:
            buffer = self.buffer
            data = buffer.buffer
            if not buffer.bytes_used and len(data) > 1:
                try:
                    head = _parse_header(data)  # (it copies the header's bytes only)
                except _ProtocolError:
                    head = None  # non-minimal length, 64-bit MSB: wsproto's own error
                if head is not None and not head.rsv:
                    opcode = opcodes.get(head.opcode)
                    length = head.length
                    size = head.size
                    end = size + length
                    if (
                        opcode is not None
                        and len(data) >= end
                        and (not self.client) is head.masked
                        and (opcode < 8 or (head.fin and length < 126))
                    ):
                        if head.masked and (length or payload_as_bytes):
                            payload = _apply_mask(data[size:end], head.key)
                        elif payload_as_bytes:
                            payload = bytes(data[size:end])
                        else:
                            payload = data[size:end]  # (a new bytearray, as in 1.2)
                        del data[:end]
                        # What wsproto's parse_header + process_buffer leave behind.
                        self.payload_required = length if opcode >= 8 else 0
                        self.payload_consumed = length
                        return Frame(opcode, payload, True, head.fin)
        return orig_process_buffer(self)

    def process_frame(self, frame):
        if self.opcode is None and frame.message_finished and frame.frame_finished:
            opcode = frame.opcode
            payload = frame.payload
            if type(payload) is bytes:
                if opcode is TEXT:
                    try:
                        text = payload.decode("utf-8")
                    except UnicodeDecodeError:
                        pass  # wsproto's own code raises its own ParseFailed
                    else:
                        return Frame(TEXT, text, True, True)
                elif opcode is BINARY:
                    return Frame(BINARY, payload, True, True)
        return orig_process_frame(self, frame)

    def _serialize_frame(self, opcode, payload=b"", fin=True):
        kind = type(payload)
        if (
            not self.extensions
            and (kind is bytes or kind is bytearray)
            and (fin is True or fin is False)
            and type(opcode) is Opcode
            and (opcode < 8 or len(payload) < 126)
        ):
            n = len(payload)
            op = opcode._value_  # (a plain int: encode_header's fastest path)
            if self.client:
                key = fp.os.urandom(4)  # looked up as wsproto's own code does
                out = bytearray(_encode_header(op, n, fin=fin, mask=key))
                out += _apply_mask(payload, key)
                return out
            out = bytearray(_encode_header(op, n, fin=fin))
            out += payload
            return out
        return orig_serialize(self, opcode, payload, fin)

    return process_buffer, process_frame, _serialize_frame


class WsprotoIntegration(Integration):
    name = "wsproto"
    module = "wsproto"
    dist = "wsproto"
    # Read 1.2.0, 1.3.0, 1.3.2: the same code but for the payload types (1.2: bytes from
    # the masker, bytearray otherwise; 1.3: bytearray from the masker, bytes in frames).
    tested = ("1.2.0", "1.3.0", "1.3.2")
    minimum = (1, 2)
    below = (1, 4)

    def patches(self):
        from wsproto import frame_protocol as fp

        modern = self.version_tuple() >= (1, 3)
        process_buffer, process_frame, serialize = _make_replacements(fp, modern)
        masker = XorMaskerSimple if modern else XorMaskerSimpleBytes
        return [
            (fp, "XorMaskerSimple", masker, "wsproto.frame_protocol.XorMaskerSimple"),
            (
                fp.FrameDecoder,
                "process_buffer",
                process_buffer,
                "wsproto.frame_protocol.FrameDecoder.process_buffer",
            ),
            (
                fp.MessageDecoder,
                "process_frame",
                process_frame,
                "wsproto.frame_protocol.MessageDecoder.process_frame",
            ),
            (
                fp.FrameProtocol,
                "_serialize_frame",
                serialize,
                "wsproto.frame_protocol.FrameProtocol._serialize_frame",
            ),
        ]


INTEGRATION = WsprotoIntegration()


def install(force=False):
    """Accelerate wsproto; returns the names replaced (empty: nothing done)."""
    return INTEGRATION.install(force=force)


def uninstall():
    """Restore wsproto's own code; True if something was installed."""
    return INTEGRATION.uninstall()


def is_installed():
    return INTEGRATION.installed
