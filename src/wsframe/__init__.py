"""wsframe: a strict, fast, sans-IO WebSocket frame codec (RFC 6455, RFC 7692).

``wsframe.implementation`` says which implementation is active: "c" (the compiled codec
over the SIMD primitives of csrc/) or "python" (the same codec source, interpreted).
Set WSFRAME_NO_EXTENSIONS=1 to force pure Python.
"""

from . import _impl
from ._errors import HandshakeError, Opcode, ProtocolError

__version__ = "0.1.0.dev0"

_active = _impl.select()
implementation = _active.name

apply_mask = _active.apply_mask
apply_mask_inplace = _active.apply_mask_inplace
apply_mask_into = _active.apply_mask_into
validate_utf8 = _active.validate_utf8
Utf8Validator = _active.Utf8Validator
random_mask = _active.random_mask
cpu_paths = _active.cpu_paths
available_paths = _active.available_paths
set_path = _active.set_path

Frame = _active.Frame
Close = _active.Close
FrameHeader = _active.FrameHeader
FrameDecoder = _active.FrameDecoder
FrameEncoder = _active.FrameEncoder
parse_header = _active.parse_header
encode_header = _active.encode_header
parse_close = _active.parse_close
build_close = _active.build_close

from ._codec_py import DEFAULT_MAX_MESSAGE_SIZE, FRAGMENT_COST  # noqa: E402

__all__ = [
    "__version__",
    "implementation",
    "HandshakeError",
    "Opcode",
    "ProtocolError",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FRAGMENT_COST",
    *_impl.PRIMITIVES,
    *_impl.CODEC,
]
