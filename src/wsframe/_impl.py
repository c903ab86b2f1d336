"""The one place that chooses between the C and the pure-Python implementation."""

import os
import types

# What each implementation provides, name for name (tests/test_api.py checks both).
PRIMITIVES = (
    "apply_mask",
    "apply_mask_inplace",
    "apply_mask_into",
    "validate_utf8",
    "Utf8Validator",
    "random_mask",
    "cpu_paths",
    "available_paths",
    "set_path",
)
CODEC = (
    "Frame",
    "Close",
    "FrameHeader",
    "FrameDecoder",
    "FrameEncoder",
    "parse_header",
    "encode_header",
    "parse_close",
    "build_close",
)
NAMES = ("c", "python")


def extensions_disabled():
    """True when WSFRAME_NO_EXTENSIONS asks for pure Python (any value but "" and "0")."""
    return os.environ.get("WSFRAME_NO_EXTENSIONS", "") not in ("", "0")


def load(name):
    """A namespace with every public name of one implementation ("c" or "python").

    Raises ImportError if the C extension is not built.
    """
    if name == "c":
        from . import _codec_c as codec
        from . import _primitives as primitives
    elif name == "python":
        from . import _codec_py as codec
        from . import _primitives_py as primitives
    else:
        raise ValueError("implementation must be 'c' or 'python', not %r" % (name,))
    impl = types.SimpleNamespace(name=name, codec=codec, primitives=primitives)
    for attr in PRIMITIVES:
        setattr(impl, attr, getattr(primitives, attr))
    for attr in CODEC:
        setattr(impl, attr, getattr(codec, attr))
    return impl


def select():
    """The implementation to use: C unless it is missing or disabled."""
    if extensions_disabled():
        return load("python")
    try:
        return load("c")
    except ImportError:
        return load("python")
