# Types of wsframe's public API. At run time __init__.py binds these names from the chosen
# implementation (the compiled wsframe._codec_c/_primitives or the pure-Python
# _codec_py/_primitives_py); both have exactly these signatures (tests/test_typing.py runs
# mypy's stubtest against each).
from typing import Final, Iterable, Literal, Protocol

from typing_extensions import Buffer, TypeAlias

from ._errors import HandshakeError as HandshakeError
from ._errors import Opcode as Opcode
from ._errors import ProtocolError as ProtocolError

__version__: str
#: "c" (compiled) or "python" (interpreted).
implementation: Literal["c", "python"]
DEFAULT_MAX_MESSAGE_SIZE: Final[int]
FRAGMENT_COST: Final[int]

_Role: TypeAlias = Literal["server", "client"]
_Primitive: TypeAlias = Literal["mask", "utf8"]

class _Extension(Protocol):
    """What FrameDecoder/FrameEncoder need of an extension (wsframe.deflate.PerMessageDeflate)."""

    @property
    def rsv_bits(self) -> int: ...

# -- primitives -------------------------------------------------------------------------
def apply_mask(data: Buffer, mask: Buffer, offset: int = 0) -> bytes: ...
def apply_mask_inplace(buf: Buffer, mask: Buffer, offset: int = 0) -> None: ...
def apply_mask_into(dst: Buffer, src: Buffer, mask: Buffer, offset: int = 0) -> None: ...
def validate_utf8(data: Buffer) -> bool: ...
def random_mask() -> bytes: ...
def cpu_paths() -> dict[str, str]: ...
def available_paths(prim: _Primitive) -> list[str]: ...
def set_path(prim: _Primitive, name: str | None = None) -> None: ...

class Utf8Validator:
    """Incremental UTF-8 validation: invalid at the first impossible byte, not before."""

    #: Offset of the first impossible byte in everything fed, or None.
    error_offset: int | None
    def __init__(self) -> None: ...
    def reset(self) -> None: ...
    def feed(self, data: Buffer) -> bool: ...
    @property
    def complete(self) -> bool: ...

# -- events -------------------------------------------------------------------------------
class Frame:
    """A decoder event: a message, a data frame (assemble=False), a ping or a pong."""

    def __init__(
        self, opcode: int, data: str | bytes, fin: bool = True, rsv1: bool = False
    ) -> None: ...
    @property
    def opcode(self) -> Opcode: ...
    #: str for a text message decoded with text="str", else bytes.
    @property
    def data(self) -> str | bytes: ...
    @property
    def fin(self) -> bool: ...
    @property
    def rsv1(self) -> bool: ...
    __hash__: None  # type: ignore[assignment]

class Close(Frame):
    """A close frame; ``code`` is None when its payload was empty."""

    def __init__(self, code: int | None = None, reason: str = "", data: bytes = b"") -> None: ...
    @property
    def code(self) -> int | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def data(self) -> bytes: ...

class FrameHeader:
    """A parsed frame header (parse_header)."""

    def __init__(
        self,
        fin: bool,
        rsv: int,
        opcode: int,
        masked: bool,
        key: bytes | None,
        length: int,
        size: int,
    ) -> None: ...
    @property
    def fin(self) -> bool: ...
    @property
    def rsv(self) -> int: ...
    @property
    def opcode(self) -> int: ...
    @property
    def masked(self) -> bool: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def length(self) -> int: ...
    @property
    def size(self) -> int: ...
    __hash__: None  # type: ignore[assignment]

def parse_header(buf: Buffer, offset: int = 0) -> FrameHeader | None: ...
def encode_header(
    opcode: int, length: int, *, fin: bool = True, rsv: int = 0, mask: Buffer | None = None
) -> bytes: ...
def parse_close(payload: Buffer) -> tuple[int | None, str]: ...
def build_close(code: int | None = None, reason: str = "") -> bytes: ...

# -- codec ---------------------------------------------------------------------------------
class FrameDecoder:
    """Bytes in, events out: feed() whatever the socket gave."""

    def __init__(
        self,
        role: _Role = "server",
        *,
        max_message_size: int = 1048576,
        max_frame_size: int | None = None,
        assemble: bool = True,
        text: Literal["str", "bytes"] = "str",
        extensions: Iterable[_Extension] = (),
        allow_any_masking: bool = False,
        allow_nonminimal_length: bool = False,
        allow_any_close_code: bool = False,
    ) -> None: ...
    @property
    def role(self) -> _Role: ...
    @property
    def max_message_size(self) -> int: ...
    @property
    def max_frame_size(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def feed(self, data: Buffer) -> list[Frame]: ...

class FrameEncoder:
    """Messages in, bytes out; a "client" masks every frame with a fresh CSPRNG key."""

    def __init__(
        self,
        role: _Role = "server",
        *,
        max_frame_size: int | None = None,
        extensions: Iterable[_Extension] = (),
    ) -> None: ...
    @property
    def role(self) -> _Role: ...
    @property
    def max_frame_size(self) -> int: ...
    def text(self, text: str) -> bytes: ...
    def binary(self, data: Buffer) -> bytes: ...
    def ping(self, data: Buffer = b"") -> bytes: ...
    def pong(self, data: Buffer = b"") -> bytes: ...
    def close(self, code: int | None = None, reason: str = "") -> bytes: ...
    def encode(
        self, opcode: int, data: str | Buffer, fin: bool = True, rsv1: bool = False
    ) -> bytes: ...
    def encode_parts(
        self, opcode: int, data: str | Buffer, fin: bool = True, rsv1: bool = False
    ) -> list[Buffer]: ...

__all__ = [
    "__version__",
    "implementation",
    "HandshakeError",
    "Opcode",
    "ProtocolError",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FRAGMENT_COST",
    "apply_mask",
    "apply_mask_inplace",
    "apply_mask_into",
    "validate_utf8",
    "Utf8Validator",
    "random_mask",
    "cpu_paths",
    "available_paths",
    "set_path",
    "Frame",
    "Close",
    "FrameHeader",
    "FrameDecoder",
    "FrameEncoder",
    "parse_header",
    "encode_header",
    "parse_close",
    "build_close",
]
