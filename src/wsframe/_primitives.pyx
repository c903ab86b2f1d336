# cython: language_level=3, boundscheck=False, wraparound=False, freethreading_compatible=True
"""The C primitives of csrc/, callable from Python.

Names and behaviour match _primitives_py.py exactly; the test suite runs both. The cdef
functions declared in _primitives.pxd are what the compiled codec calls directly.

Threads: every function here may be called from several threads at once; every buffer
used without the GIL is held through an export (a concurrent resize is a BufferError). A
Utf8Validator holds per-stream state: a second thread entering one raises RuntimeError.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
cimport cython
from libc.stdint cimport uint64_t, uintptr_t
from libc.string cimport memcpy

from wsframe import _args


cdef extern from "Python.h":
    str PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void *PyUnicode_DATA(object o)
    bint PyUnicode_IS_ASCII(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

from ._primitives_py import utf8_error_offset  # noqa: F401  (same name in both modules)

__all__ = [
    "apply_mask",
    "apply_mask_inplace",
    "apply_mask_into",
    "validate_utf8",
    "Utf8Validator",
    "random_mask",
    "cpu_paths",
    "available_paths",
    "set_path",
    "utf8_error_offset",
]

# Below this many bytes the work is shorter than releasing and re-taking the GIL
# (measured: benchmarks/bench_primitives.py::test_gil_threshold).
cdef Py_ssize_t NOGIL_THRESHOLD = 1 << 16

_PRIMS = ("mask", "utf8")


def _nogil_threshold(n=None):
    """The GIL-release threshold in bytes; ``n`` sets it (benchmarks only). Returns the
    previous value."""
    global NOGIL_THRESHOLD
    cdef Py_ssize_t old = NOGIL_THRESHOLD
    if n is not None:
        NOGIL_THRESHOLD = _args.c_integer(n, "n", 0)
    return old


cdef int _prim_index(prim) except -1:
    _args.path_names(prim, None)
    try:
        return _PRIMS.index(prim)
    except ValueError:
        raise ValueError("unknown primitive %r; expected one of %s" % (prim, _PRIMS)) from None


cdef inline void _mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *key,
                       size_t phase) noexcept:
    # Callers hold an export of every buffer here (a memoryview, or an immutable bytes)
    # whenever n reaches NOGIL_THRESHOLD: another thread cannot resize it meanwhile.
    if <Py_ssize_t>n >= NOGIL_THRESHOLD:
        with nogil:
            wsf_mask(dst, src, n, key, phase)
    else:
        wsf_mask(dst, src, n, key, phase)


cdef extern from *:
    """
    /* A bytearray may be read without an export only where the GIL keeps other threads
       out; a free-threaded build takes the exporting path. */
    #ifdef Py_GIL_DISABLED
    #define WSF_BYTEARRAY_UNEXPORTED 0
    #else
    #define WSF_BYTEARRAY_UNEXPORTED 1
    #endif
    """
    bint WSF_BYTEARRAY_UNEXPORTED


cdef inline const uint8_t *_unexported(data, Py_ssize_t *n) noexcept:
    """The bytes of ``data`` where they may be read without a buffer export (a typed
    memoryview costs ten times the masking of a small frame), their count in ``n``; NULL:
    take an export. A ``bytes`` is immutable; a ``bytearray`` below NOGIL_THRESHOLD is
    read with the GIL held throughout (GIL builds only), so no thread can resize it."""
    if type(data) is bytes:
        n[0] = len(<bytes>data)
        return <const uint8_t *>PyBytes_AS_STRING(data)
    if (WSF_BYTEARRAY_UNEXPORTED and type(data) is bytearray
            and len(<bytearray>data) < NOGIL_THRESHOLD):
        n[0] = len(<bytearray>data)
        return <const uint8_t *>PyByteArray_AS_STRING(data)
    return NULL


cdef inline bint _small_key(mask, uint8_t *key):
    """Copy a 4-byte bytes or bytearray key into ``key``; False for anything else.

    (A copy: the key then cannot be resized under a call that releases the GIL.)
    """
    if type(mask) is bytes and len(<bytes>mask) == 4:
        memcpy(key, PyBytes_AS_STRING(mask), 4)
        return True
    if WSF_BYTEARRAY_UNEXPORTED and type(mask) is bytearray and len(<bytearray>mask) == 4:
        memcpy(key, PyByteArray_AS_STRING(mask), 4)
        return True
    return False


def apply_mask(data, mask, Py_ssize_t offset=0):
    """Return ``data`` XOR ``mask``; ``offset`` is the key position where ``data`` starts."""
    cdef Py_ssize_t n
    cdef bytes out
    cdef uint8_t key4[4]
    cdef const uint8_t *p
    if _small_key(mask, key4):
        p = _unexported(data, &n)  # (bytes, and small bytearrays: websockets' reader's)
        if p != NULL:
            out = PyBytes_FromStringAndSize(NULL, n)
            if n:
                _mask(<uint8_t *>PyBytes_AS_STRING(out), p, n, key4, offset & 3)
            return out
    cdef const unsigned char[::1] src = _args.byte_view(data, "apply_mask()")
    cdef bytes key = _args.mask_key(mask, "apply_mask()")
    n = src.shape[0]
    out = PyBytes_FromStringAndSize(NULL, n)
    if n:
        _mask(<uint8_t *>PyBytes_AS_STRING(out), &src[0], n,
              <const uint8_t *>PyBytes_AS_STRING(key), offset & 3)
    return out


def apply_mask_inplace(buf, mask, Py_ssize_t offset=0):
    """Mask a writable buffer in place."""
    cdef Py_ssize_t n
    cdef uint8_t key4[4]
    if (WSF_BYTEARRAY_UNEXPORTED and type(buf) is bytearray
            and len(<bytearray>buf) < NOGIL_THRESHOLD and _small_key(mask, key4)):
        # The common case, without the cost of acquiring a buffer (it dominates tiny
        # frames). The GIL stays held, so no thread can resize buf meanwhile; larger
        # ones take the memoryview below, whose export makes a resize a BufferError.
        n = len(<bytearray>buf)
        if n:
            _mask(<uint8_t *>PyByteArray_AS_STRING(buf),
                  <uint8_t *>PyByteArray_AS_STRING(buf), n, key4, offset & 3)
        return
    cdef unsigned char[::1] view = _args.writable_view(buf, "apply_mask_inplace()")
    cdef bytes key = _args.mask_key(mask, "apply_mask_inplace()")
    if view.shape[0]:
        _mask(&view[0], &view[0], view.shape[0], <const uint8_t *>PyBytes_AS_STRING(key),
              offset & 3)


def apply_mask_into(dst, src, mask, Py_ssize_t offset=0):
    """Write ``src`` XOR ``mask`` into the start of the writable buffer ``dst``.

    ``src`` may overlap ``dst``: the result is as if ``src`` were copied first.
    """
    cdef unsigned char[::1] out = _args.writable_view(dst, "apply_mask_into()")
    cdef const unsigned char[::1] data = _args.byte_view(src, "apply_mask_into()")
    cdef bytes key = _args.mask_key(mask, "apply_mask_into()")
    cdef Py_ssize_t n = data.shape[0]
    if out.shape[0] < n:
        raise ValueError("destination holds %d bytes, source has %d" % (out.shape[0], n))
    if n == 0:
        return
    cdef uintptr_t o = <uintptr_t>&out[0]
    cdef uintptr_t i = <uintptr_t>&data[0]
    if o != i and i < o + <uintptr_t>n and o < i + <uintptr_t>n:
        data = bytes(data)  # overlapping (wsf_mask allows only dst == src): memmove semantics
    _mask(&out[0], &data[0], n, <const uint8_t *>PyBytes_AS_STRING(key), offset & 3)


cdef inline bint _validate(const uint8_t *p, Py_ssize_t n) noexcept:
    cdef size_t err = 0
    cdef int ok
    if n == 0:
        return True
    if n >= NOGIL_THRESHOLD:
        with nogil:
            ok = wsf_utf8_validate(p, n, &err)
    else:
        ok = wsf_utf8_validate(p, n, &err)
    return ok == 1


def validate_utf8(data):
    """True if ``data`` is complete, valid UTF-8 (RFC 3629)."""
    cdef Py_ssize_t n
    cdef const uint8_t *p = _unexported(data, &n)
    if p != NULL:
        return _validate(p, n)
    cdef const unsigned char[::1] view = _args.byte_view(data, "validate_utf8()")
    return _validate(&view[0] if view.shape[0] else NULL, view.shape[0])


cdef class Utf8Validator:
    """Utf8Validator()
--

Incremental UTF-8 validation: invalid at the first impossible byte, not before.

One stream, one thread at a time: a second thread entering ``feed`` or ``reset``
while another is inside raises RuntimeError (the state is never shared half-written)."""

    def __cinit__(self):
        wsf_utf8_init(&self._state)
        self._fed = 0
        self._busy = 0
        self.error_offset = None

    cdef int _enter(self) except -1:
        if not wsf_try_enter(&self._busy):
            raise _args.two_threads("Utf8Validator")
        return 0

    def reset(self):
        self._enter()
        wsf_utf8_init(&self._state)
        self._fed = 0
        self.error_offset = None
        wsf_leave(&self._busy)

    cpdef bint feed(self, data) except -1:
        """Feed the next chunk; False once the text can no longer be valid."""
        cdef const unsigned char[::1] view
        cdef const uint8_t *p
        cdef Py_ssize_t n
        if not wsf_try_enter(&self._busy):
            raise _args.two_threads("Utf8Validator")
        try:
            p = _unexported(data, &n)
            if p != NULL:
                return self._feed(p, n)
            view = _args.byte_view(data, "Utf8Validator.feed()")
            return self._feed(&view[0] if view.shape[0] else NULL, view.shape[0])
        finally:
            wsf_leave(&self._busy)

    cdef bint _feed(self, const uint8_t *p, Py_ssize_t n) except -1:
        cdef size_t err = 0
        cdef int ok
        if self.error_offset is not None:
            return False
        if n == 0:
            return True
        if n >= NOGIL_THRESHOLD:
            with nogil:
                ok = wsf_utf8_feed(&self._state, p, n, &err)
        else:
            ok = wsf_utf8_feed(&self._state, p, n, &err)
        if not ok:
            if err > <size_t>n:  # (the C state checks itself; never report outside the chunk)
                err = n
            self.error_offset = self._fed + <Py_ssize_t>err
            return False
        self._fed += n
        return True

    @property
    def complete(self):
        """True if the text is valid and does not end inside a character."""
        return self.error_offset is None and wsf_utf8_complete(&self._state) == 1


cdef unsigned int load_key(bytes data, Py_ssize_t pos) noexcept:
    cdef unsigned int key
    memcpy(&key, PyBytes_AS_STRING(data) + pos, 4)
    return key


cdef inline void _unmask_to(char *dst, const char *src, Py_ssize_t n, unsigned int key,
                            Py_ssize_t phase) noexcept:
    if key:
        _mask(<uint8_t *>dst, <const uint8_t *>src, n, <const uint8_t *>&key, phase & 3)
    else:
        memcpy(dst, src, n)


cdef bytes unmask(bytes src, Py_ssize_t start, Py_ssize_t end, unsigned int key, Py_ssize_t phase):
    cdef Py_ssize_t n = end - start
    if n <= 0:
        return b""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    _unmask_to(PyBytes_AS_STRING(out), PyBytes_AS_STRING(src) + start, n, key, phase)
    return out


cdef inline bint _is_ascii(const unsigned char *p, Py_ssize_t n) noexcept:
    # 32 bytes per step, and out at the first block with a high bit: French or CJK text
    # leaves within a few blocks for CPython's decoder.
    cdef uint64_t a, b, c, d
    cdef Py_ssize_t i = 0
    while i + 32 <= n:
        memcpy(&a, p + i, 8)
        memcpy(&b, p + i + 8, 8)
        memcpy(&c, p + i + 16, 8)
        memcpy(&d, p + i + 24, 8)
        if (a | b | c | d) & 0x8080808080808080ULL:
            return False
        i += 32
    a = 0
    while i < n:
        a |= p[i]
        i += 1
    return (a & 0x80) == 0


cdef str _transcode(const uint8_t *p, Py_ssize_t n):
    """A str of the valid UTF-8 p[0:n], built by the C transcoder where it has vectors for
    the layout the text needs, else by CPython's decoder (as fast as a scalar loop gets)."""
    cdef uint8_t max_byte = 0
    cdef size_t count, done
    cdef Py_UCS4 maxchar
    cdef int width
    cdef void *dst
    if n >= NOGIL_THRESHOLD:
        with nogil:
            count = wsf_utf8_measure(p, n, &max_byte)
    else:
        count = wsf_utf8_measure(p, n, &max_byte)
    # The largest byte tells the widest character: a str must use the narrowest layout
    # that holds its largest character, and a lead byte >= 0xC4 starts one >= U+0100.
    if max_byte >= 0xF0:
        maxchar, width = 0x10FFFF, 4
    elif max_byte >= 0xC4:
        maxchar, width = 0xFFFF, 2
    else:
        maxchar, width = 0xFF if max_byte >= 0x80 else 0x7F, 1
    if not wsf_utf8_transcode_vectorized(width):  # (AVX2 has no kernel for 4-byte units)
        return PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
    cdef str out = PyUnicode_New(count, maxchar)
    dst = PyUnicode_DATA(out)
    if n >= NOGIL_THRESHOLD:  # (the new str is not visible to any other thread yet)
        with nogil:
            done = wsf_utf8_to_ucs(dst, count, width, p, n)
    else:
        done = wsf_utf8_to_ucs(dst, count, width, p, n)
    if done != count:  # cannot happen for valid input: say so rather than return garbage
        raise SystemError("wsframe: UTF-8 transcoder wrote %d of %d characters" % (done, count))
    return out


cdef str _decode_checked(const char *p, Py_ssize_t n):
    """str of p[0:n]: validated by the SIMD validator, then transcoded by vectors. Invalid
    text raises CPython's own UnicodeDecodeError (same reason and offsets as bytes.decode).
    Where the CPU path has no vector transcoder, CPython's decoder is as fast: it does both."""
    if not wsf_utf8_transcode_vectorized(0) or not _validate(<const uint8_t *>p, n):
        return PyUnicode_DecodeUTF8(p, n, NULL)
    return _transcode(<const uint8_t *>p, n)


cdef str unmask_text(bytes src, Py_ssize_t start, Py_ssize_t end, unsigned int key,
                     Py_ssize_t phase):
    """Unmask straight into a new ASCII str; other text is validated and transcoded."""
    cdef Py_ssize_t n = end - start
    if n <= 0:
        return ""
    cdef str out = PyUnicode_New(n, 127)
    cdef char *p = <char *>PyUnicode_DATA(out)
    _unmask_to(p, PyBytes_AS_STRING(src) + start, n, key, phase)
    if _is_ascii(<const unsigned char *>p, n):
        return out
    return _decode_checked(p, n)  # (out is scratch here)


cdef bytes frame_payload(bytes src, Py_ssize_t start, Py_ssize_t end, bint masked):
    return unmask(src, start, end, load_key(src, start - 4) if masked else 0, 0)


cdef str frame_text(bytes src, Py_ssize_t start, Py_ssize_t end, bint masked):
    return unmask_text(src, start, end, load_key(src, start - 4) if masked else 0, 0)


cdef str decode_valid_text(bytes data):
    """The str of text that a Utf8Validator already accepted whole."""
    cdef Py_ssize_t n = len(data)
    if n == 0:
        return ""
    return _transcode(<const uint8_t *>PyBytes_AS_STRING(data), n)


cdef bytes frame_header(int b0, unsigned long long length, object key):
    cdef uint8_t head[14]
    cdef const uint8_t *k = NULL
    if key is not None:
        k = <const uint8_t *>PyBytes_AS_STRING(<bytes>key)
    cdef size_t size = wsf_encode_header(head, (b0 >> 7) & 1, (b0 >> 4) & 7, b0 & 15, k, length)
    return PyBytes_FromStringAndSize(<char *>head, size)


cdef bytes encode_frame(int b0, bytes payload, bint masked):
    return _frame(b0, <const uint8_t *>PyBytes_AS_STRING(payload), len(payload), masked)


cdef object encode_ascii_frame(int b0, object text, bint masked):
    """The frame of an ASCII str, straight from its characters (they are its UTF-8 bytes:
    no intermediate bytes object); None when the text is not ASCII. ``text`` is a str (a
    subclass too: the caller checked)."""
    if not PyUnicode_IS_ASCII(text):
        return None
    return _frame(b0, <const uint8_t *>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text), masked)


cdef bytes _frame(int b0, const uint8_t *src, Py_ssize_t n, bint masked):
    # (src: the data of an immutable bytes or str the caller holds)
    cdef uint8_t key[4]
    cdef uint8_t head[14]
    cdef size_t size
    if masked:
        if wsf_random_key(key) != 0:
            raise OSError("the OS random generator failed")
        size = wsf_encode_header(head, (b0 >> 7) & 1, (b0 >> 4) & 7, b0 & 15, key, n)
    else:
        size = wsf_encode_header(head, (b0 >> 7) & 1, (b0 >> 4) & 7, b0 & 15, NULL, n)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size + n)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    memcpy(p, head, size)
    if n:
        if masked:
            _mask(p + size, src, n, key, 0)
        else:
            memcpy(p + size, src, n)
    return out


def random_mask():
    """A fresh 4-byte masking key from the OS CSPRNG (pooled; safe after fork)."""
    cdef uint8_t key[4]
    if wsf_random_key(key) != 0:
        raise OSError("the OS random generator failed")
    return PyBytes_FromStringAndSize(<char *>key, 4)


def cpu_paths():
    """The path each primitive takes on this CPU, e.g. {"mask": "avx512", "utf8": "avx2"}."""
    return {prim: wsf_get_path(i).decode() for i, prim in enumerate(_PRIMS)}


def available_paths(prim):
    """Paths usable on this CPU for ``prim``, worst to best."""
    cdef const char *names[16]
    cdef int count = wsf_list_paths(_prim_index(prim), names, 16)
    return [names[i].decode() for i in range(count)]


def set_path(prim, name=None):
    """Force the path of ``prim`` (None: the best one); for tests and benchmarks."""
    _args.path_names(prim, name)
    cdef int index = _prim_index(prim)
    cdef bytes encoded = (name or "auto").encode()
    if wsf_set_path(index, encoded) != 0:
        raise ValueError(
            "path %r is not available for %r on this CPU; available: %s"
            % (name, prim, available_paths(prim))
        )
