"""The argument contract at the API boundary, shared by both implementations.

Both the C primitives (``_primitives.pyx``), the compiled codec and the interpreted code
call these helpers once per call, and only off their type-exact fast paths (``bytes``,
``int``): so a bad argument raises the same exception class with the same text whichever
implementation runs, and good arguments pay nothing. Kept in a plain module (never
compiled), like ``_errors``.

- bytes-like: an object with the buffer protocol (bytes, bytearray, memoryview, array,
  mmap...); its bytes in logical order, as ``bytes(obj)`` gives them (a strided or
  non-byte-format view counts by its raw bytes). Not None, int, str or list: TypeError.
- writable buffer: a writable, C-contiguous buffer; else TypeError.
- mask: exactly 4 bytes of a bytes-like (TypeError for the type, ValueError for the size).
- size limits: an ``int`` from 1 to 2**64-1 (2**63-1 for the encoder's), or ``None`` where the parameter allows it
  (elsewhere None is a ValueError: the decoder has no unlimited mode); bool, float (NaN
  included) and other types: TypeError; out of range: ValueError.
- C integers (offsets, header fields): anything with ``__index__`` (bool too, as in
  C); other types TypeError; outside the C type: OverflowError (what Cython raises).
"""

from operator import index as _index

MAX_LIMIT = (1 << 64) - 1  # the decoder's limits are C unsigned 64-bit ints
SSIZE_MIN = -(1 << 63)
SSIZE_MAX = (1 << 63) - 1


def two_threads(what):
    """The error for a second thread entering a stateful object another one is inside."""
    return RuntimeError(
        "%s used from two threads at once: give each thread its own, or serialize the "
        "calls with a lock" % what
    )


def not_bytes(obj, where):
    """TypeError for an argument that is not bytes-like, saying what to pass instead."""
    if isinstance(obj, str):
        return TypeError("%s takes bytes-like data, not str: encode it first" % where)
    return TypeError(
        "%s takes bytes-like data (bytes, bytearray, memoryview or another buffer), "
        "not %s" % (where, type(obj).__name__)
    )


def byte_view(obj, where):
    """A 1-D, C-contiguous memoryview of format "B" over the bytes of ``obj`` (over a
    copy when ``obj``'s buffer is not contiguous). While it lives, ``obj`` cannot be
    resized (BufferError), so C code may use its pointer without the GIL."""
    try:
        view = memoryview(obj)
    except TypeError:
        raise not_bytes(obj, where) from None
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    if view.format != "B" or view.ndim != 1:
        return view.cast("B")
    return view


def to_bytes(obj, where):
    """The bytes of a bytes-like ``obj`` as a ``bytes`` object (``obj`` itself if it is one)."""
    kind = type(obj)
    if kind is bytes:
        return obj
    if kind is bytearray:
        return bytes(obj)
    return byte_view(obj, where).tobytes()


def writable_view(obj, where):
    """A 1-D writable memoryview of format "B" over ``obj``'s own memory."""
    try:
        view = memoryview(obj)
    except TypeError:
        raise not_bytes(obj, where) from None
    if view.readonly:
        raise TypeError(
            "%s needs a writable buffer (a bytearray, or a memoryview of one), not a "
            "read-only %s" % (where, type(obj).__name__)
        )
    if not view.c_contiguous:
        raise TypeError(
            "%s needs a contiguous writable buffer, not a strided view: pass the "
            "underlying bytearray, or mask a bytes copy with apply_mask()" % where
        )
    if view.format != "B" or view.ndim != 1:
        return view.cast("B")
    return view


def mask_key(mask, where):
    """The 4 bytes of a masking key, as ``bytes``."""
    if type(mask) is bytes:
        key = mask
    else:
        try:
            if isinstance(mask, (int, str)):
                raise TypeError
            key = to_bytes(mask, where)
        except TypeError:
            raise TypeError(
                "%s takes the mask as 4 bytes (e.g. wsframe.random_mask()), not %s"
                % (where, type(mask).__name__)
            ) from None
    if len(key) != 4:
        raise ValueError("mask must be exactly 4 bytes, got %d" % len(key))
    return key


def c_integer(value, name, low=SSIZE_MIN, high=SSIZE_MAX):
    """``value`` as an int of the C type [low, high] (the interpreted twin of what
    Cython does for a typed parameter)."""
    if type(value) is not int:
        try:
            value = _index(value)
        except TypeError:
            raise TypeError(
                "%s must be an int, not %s" % (name, type(value).__name__)
            ) from None
    if not low <= value <= high:
        raise OverflowError("%s %d does not fit (%d..%d)" % (name, value, low, high))
    return value


def size_limit(value, name, none_ok, high=MAX_LIMIT):
    """A size limit: an int from 1 to ``high`` (or None where ``none_ok``)."""
    if type(value) is not int:
        if value is None:
            if none_ok:
                return None
            raise ValueError(
                "%s must be a positive number of bytes: None (no limit) is not allowed, "
                "pass a large int instead" % name
            )
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(
                "%s must be an int number of bytes (e.g. %s=1 << 20)%s, not %r"
                % (name, name, " or None" if none_ok else "", value)
            )
        try:
            value = _index(value)
        except TypeError:
            raise TypeError(
                "%s must be an int number of bytes%s, not %s"
                % (name, " or None" if none_ok else "", type(value).__name__)
            ) from None
    if not 0 < value <= high:
        raise ValueError(
            "%s must be a positive number of bytes up to %d, not %d" % (name, high, value)
        )
    return value


def close_code(code):
    """A close code to send: an int (not bool, not str) from 0 to 65535; the codec then
    checks it may be sent."""
    if type(code) is not int:
        if isinstance(code, bool) or not hasattr(type(code), "__index__"):
            raise TypeError(
                "a close code must be an int such as 1000, not %s" % type(code).__name__
            )
        code = _index(code)
    if not 0 <= code <= 65535:
        raise ValueError("close code %d may not be sent (RFC 6455 7.4)" % code)
    return code


def close_reason(reason):
    if not isinstance(reason, str):
        hint = ": decode it first" if isinstance(reason, (bytes, bytearray)) else ""
        raise TypeError("a close reason must be str, not %s%s" % (type(reason).__name__, hint))
    return reason


def path_names(prim, name):
    """set_path / available_paths: the primitive and path names are str (or None)."""
    if not isinstance(prim, str):
        raise TypeError("prim must be a str such as \"mask\" or \"utf8\", not %s" % type(prim).__name__)
    if name is not None and not isinstance(name, str):
        raise TypeError("a path name must be a str such as \"avx2\" (or None), not %s" % type(name).__name__)
