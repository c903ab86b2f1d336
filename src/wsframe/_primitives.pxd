# The C primitives as the compiled codec sees them: plain C calls, no Python overhead.
# Python callers use the def/cpdef functions of _primitives.pyx, which match
# _primitives_py.py name for name.
from libc.stdint cimport uint8_t, uint64_t


cdef extern from "wsframe.h" nogil:
    ctypedef struct wsf_utf8_state:
        pass
    void wsf_mask(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key, size_t phase)
    void wsf_utf8_init(wsf_utf8_state *st)
    int wsf_utf8_feed(wsf_utf8_state *st, const uint8_t *data, size_t length, size_t *err)
    int wsf_utf8_complete(const wsf_utf8_state *st)
    int wsf_utf8_validate(const uint8_t *data, size_t length, size_t *err)
    int wsf_unmask_utf8(uint8_t *dst, const uint8_t *src, size_t length, const uint8_t *key,
                        size_t phase, wsf_utf8_state *st, size_t *err)
    size_t wsf_utf8_measure(const uint8_t *p, size_t length, uint8_t *max_byte)
    size_t wsf_utf8_to_ucs(void *dst, size_t cap, int width, const uint8_t *p, size_t length)
    int wsf_utf8_transcode_vectorized(int width)
    int wsf_random_key(uint8_t *key)
    int wsf_random_bytes(uint8_t *out, size_t n)
    size_t wsf_encode_header(uint8_t *out, int fin, int rsv, int opcode, const uint8_t *key,
                             uint64_t length)
    const char *wsf_get_path(int prim)
    int wsf_set_path(int prim, const char *name)
    int wsf_list_paths(int prim, const char **names, int max)


# The busy flag of a stateful object (issue 13): an int set on entry, cleared on exit. With
# the GIL, a plain test-and-set (no Python code runs in between); on a free-threaded build,
# an atomic exchange, so that two threads can never both enter.
cdef extern from *:
    """
    #if defined(Py_GIL_DISABLED) && defined(_MSC_VER)
    #include <intrin.h>
    static inline int wsf_try_enter(int *flag) { return _InterlockedExchange((volatile long *)flag, 1) == 0; }
    static inline void wsf_leave(int *flag) { _InterlockedExchange((volatile long *)flag, 0); }
    #elif defined(Py_GIL_DISABLED)
    static inline int wsf_try_enter(int *flag) { return __atomic_exchange_n(flag, 1, __ATOMIC_ACQ_REL) == 0; }
    static inline void wsf_leave(int *flag) { __atomic_store_n(flag, 0, __ATOMIC_RELEASE); }
    #else
    static inline int wsf_try_enter(int *flag) { if (*flag) return 0; *flag = 1; return 1; }
    static inline void wsf_leave(int *flag) { *flag = 0; }
    #endif
    """
    bint wsf_try_enter(int *flag) nogil
    void wsf_leave(int *flag) nogil


cdef class Utf8Validator:
    cdef wsf_utf8_state _state
    cdef Py_ssize_t _fed
    cdef int _busy
    cdef public object error_offset
    cdef int _enter(self) except -1
    cpdef bint feed(self, data) except -1
    cdef bint _feed(self, const uint8_t *p, Py_ssize_t n) except -1


cdef unsigned int load_key(bytes data, Py_ssize_t pos) noexcept
cdef bytes unmask(bytes src, Py_ssize_t start, Py_ssize_t end, unsigned int key, Py_ssize_t phase)
cdef str unmask_text(bytes src, Py_ssize_t start, Py_ssize_t end, unsigned int key,
                     Py_ssize_t phase)
cdef bytes frame_payload(bytes src, Py_ssize_t start, Py_ssize_t end, bint masked)
cdef str frame_text(bytes src, Py_ssize_t start, Py_ssize_t end, bint masked)
cdef str decode_valid_text(bytes data)
cdef bytes frame_header(int b0, unsigned long long length, object key)
cdef bytes encode_frame(int b0, bytes payload, bint masked)
cdef object encode_ascii_frame(int b0, object text, bint masked)
cdef bytes _frame(int b0, const uint8_t *src, Py_ssize_t n, bint masked)
