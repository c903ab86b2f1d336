# Static types for _codec_py.py when Cython compiles it as wsframe._codec_c.
# The logic is only in _codec_py.py; this file only says which names are C types and
# which calls are plain C calls into _primitives.
cimport cython

from wsframe._primitives cimport (
    wsf_leave, wsf_try_enter, Utf8Validator, decode_valid_text, encode_ascii_frame,
    encode_frame, frame_header, frame_payload, frame_text,
    load_key, unmask, unmask_text,
)

cdef tuple _OPCODES
cdef int _OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE
cdef Py_ssize_t _COALESCE_BELOW, _COALESCE_PART


# Events are read-only (decorated no_gc and freelist in the .py: see there).
cdef class Frame:
    cdef readonly object opcode
    cdef readonly object data
    cdef readonly bint fin
    cdef readonly bint rsv1


cdef class Close(Frame):
    cdef readonly object code
    cdef readonly str reason


cdef class FrameHeader:
    cdef readonly bint fin
    cdef readonly int rsv
    cdef readonly int opcode
    cdef readonly bint masked
    cdef readonly object key
    cdef readonly unsigned long long length
    cdef readonly int size


@cython.locals(data=bytes, pos=Py_ssize_t, end=Py_ssize_t, b0=int, b1=int, size=int,
               length=cython.ulonglong)
cpdef FrameHeader parse_header(object buf, Py_ssize_t offset=*)

@cython.locals(frame=Frame)
cdef Frame _new_frame(int opcode, object data, bint fin, bint rsv1)

cdef bint _valid_close_code(long code) noexcept
cdef int _header_size(int b1) noexcept
@cython.locals(length=cython.ulonglong, i=Py_ssize_t)
cdef unsigned long long _read_length(bytes data, Py_ssize_t pos, int b1) noexcept
cdef _check_length(bytes data, Py_ssize_t pos, int b1, unsigned long long length,
                       bint allow_nonminimal)


cdef class FrameDecoder:
    cdef readonly str role
    cdef readonly unsigned long long max_message_size
    cdef readonly unsigned long long max_frame_size
    cdef bint _assemble, _text_str, _mask_any, _nonminimal_ok, _any_close_code, _closed
    cdef int _mask_expected, _rsv_allowed
    cdef object _compressor
    cdef object _error
    cdef bytes _head
    # the frame being received
    cdef int _b0
    cdef unsigned int _key
    cdef unsigned long long _length, _remaining
    cdef bytearray _ctrl
    # the message being received
    cdef int _msg_opcode
    cdef bint _msg_compressed
    cdef unsigned long long _msg_cost
    cdef list _parts
    cdef Utf8Validator _validator
    cdef int _busy

    cdef int _enter(self) except -1

    @cython.locals(end=Py_ssize_t, pos=Py_ssize_t, size=Py_ssize_t, remaining=cython.ulonglong,
                   stop=Py_ssize_t, head=bytes, fast=bint, b0=int, b1=int, length=Py_ssize_t,
                   start=Py_ssize_t, text_fast=bint,
                   mask_expected=int, limit=cython.ulonglong, event=Frame, op_text=object,
                   op_binary=object, opcode=object, head_size=Py_ssize_t, last=Py_ssize_t,
                   interpreted=bint)
    cdef _process(self, bytes data, list events)
    @cython.locals(b0=int, b1=int, size=int, length=cython.ulonglong, opcode=int, masked=int,
                   rsv=int)
    cdef Py_ssize_t _start_frame(self, bytes data, Py_ssize_t pos, Py_ssize_t end,
                                 list events) except -1
    @cython.locals(cost=cython.ulonglong)
    cdef _start_data_frame(self, int b0, int opcode, int rsv,
                               unsigned long long length)
    @cython.locals(offset=cython.ulonglong, chunk=bytes, b0=int)
    cdef _consume(self, bytes data, Py_ssize_t start, Py_ssize_t stop, list events)
    @cython.locals(opcode=int, text=str, chunk=bytes, validator=Utf8Validator)
    cdef _whole_message(self, bytes data, Py_ssize_t start, Py_ssize_t stop, list events)
    @cython.locals(last=bint, budget=cython.ulonglong, validator=Utf8Validator, parts=list,
                   n=Py_ssize_t)
    cdef _data_chunk(self, bytes chunk, list events)
    @cython.locals(fin=bint, validator=Utf8Validator)
    cdef _end_data_frame(self, list events)
    cdef _end_frame(self, bytes chunk, list events)
    @cython.locals(opcode=int, event=Close)
    cdef _end_control(self, bytes payload, list events)


cdef class FrameEncoder:
    cdef readonly str role
    cdef readonly Py_ssize_t max_frame_size
    cdef bint _masked, _compressing
    cdef int _busy
    cdef object _compressor

    cdef int _enter(self) except -1
    @cython.locals(first=bint, b0=int)
    cdef bytes _encode(self, Py_ssize_t op, bytes payload, bint fin, bint rsv1)
    @cython.locals(b0=int, limit=Py_ssize_t, n=Py_ssize_t, start=Py_ssize_t, stop=Py_ssize_t)
    cdef bytes _message(self, int opcode, bytes payload)
    cdef bytes _control(self, int opcode, bytes payload)
