"""Adapters: wsframe (each implementation and CPU path) and every peer library.

Each ``*_candidates`` function returns ``(candidates, skipped)`` for one section:
``candidates`` are :class:`Candidate` objects whose ``make(...)`` builds the callable to
time; ``skipped`` are ``(library, reason)`` pairs. A peer is resolved through
:func:`resolve`, which turns a missing package or a moved/renamed internal function into
a :class:`Skip` with a reason: a new peer release never crashes the benchmark.
"""

import asyncio
import importlib
import logging
import os
import socket

__all__ = [
    "Skip",
    "Candidate",
    "resolve",
    "library_versions",
    "wsframe_implementations",
    "mask_candidates",
    "mask_inplace_candidates",
    "utf8_candidates",
    "decode_candidates",
    "encode_candidates",
    "close_resources",
    "resource_mark",
    "PEERS",
]

# The peers, in display order, with their distribution names.
PEERS = (
    ("websockets", "websockets"),
    ("wsproto", "wsproto"),
    ("aiohttp", "aiohttp"),
    ("tornado", "tornado"),
    ("wsaccel", "wsaccel"),
    ("autobahn", "autobahn"),
    ("picows", "picows"),
    ("websocket_client", "websocket-client"),
)

BIG_LIMIT = 1 << 26  # 64 MiB: message and frame limits given to every decoder alike


class Skip(Exception):
    """A candidate that cannot run here; ``str(exc)`` is the reason shown to the user."""


class Candidate(object):
    """One implementation of one section's operation.

    ``make(*params)`` returns ``(func, args)``: ``func(*args)`` performs one operation.
    ``before()`` (optional) runs before each sample, untimed (e.g. to force a CPU path).
    ``kind`` is "wsframe", "peer" or "reference".
    """

    __slots__ = ("name", "library", "implementation", "path", "kind", "make", "before", "note")

    def __init__(self, name, library, make, kind="peer", implementation=None, path=None,
                 before=None, note=""):
        self.name = name
        self.library = library
        self.make = make
        self.kind = kind
        self.implementation = implementation
        self.path = path
        self.before = before
        self.note = note


def _dist_version(dist):
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return metadata.version(dist)
    except Exception:
        return None


def library_versions():
    """{library: version or None when not installed}."""
    return {name: _dist_version(dist) for name, dist in PEERS}


def _installed(library):
    dist = dict(PEERS).get(library, library)
    try:
        importlib.import_module(library)
    except ImportError:
        raise Skip("not installed")
    except Exception as exc:  # a broken install is reported, not fatal
        raise Skip("import failed: %s: %s" % (type(exc).__name__, exc))
    return _dist_version(dist)


def resolve(module, attr=None):
    """Import ``module`` and return it, or its (dotted) attribute ``attr``.

    Raises :class:`Skip` naming what is missing, so a peer that moved a function is
    reported rather than fatal.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise Skip("%s not importable (%s)" % (module, exc))
    except Exception as exc:
        raise Skip("%s failed to import: %s: %s" % (module, type(exc).__name__, exc))
    if attr is None:
        return mod
    obj = mod
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise Skip("%s.%s not found (moved in this version?)" % (module, attr))
    return obj


def _resolve_first(places):
    """The first of ``[(module, attr), ...]`` that resolves; Skip listing all if none."""
    reasons = []
    for module, attr in places:
        try:
            return resolve(module, attr)
        except Skip as exc:
            reasons.append(str(exc))
    raise Skip("; ".join(reasons))


def _is_compiled(func):
    """True for a C/Cython function (not a plain Python function)."""
    import types

    return not isinstance(func, (types.FunctionType, types.MethodType))


# ---------------------------------------------------------------------------------------
# wsframe: both implementations in one process


class WsframeImpl(object):
    """The API of one wsframe implementation (primitives + codec modules)."""

    def __init__(self, name, prims, codec):
        self.name = name
        self.prims = prims
        self.codec = codec

    def paths(self, prim):
        """CPU paths selectable for primitive ``prim`` ("mask", "utf8")."""
        if self.name != "c":
            return [None]
        try:
            paths = list(self.prims.available_paths(prim))
        except Exception:
            return [None]
        return paths or [None]

    def setter(self, prim, path):
        if path is None or self.name != "c":
            return None
        set_path = self.prims.set_path

        def before(prim=prim, path=path):
            set_path(prim, path)

        return before

    def reset_paths(self):
        if self.name == "c":
            for prim in ("mask", "utf8"):
                try:
                    self.prims.set_path(prim, None)
                except Exception:
                    pass


_IMPL_MODULES = (
    ("c", "wsframe._primitives", "wsframe._codec_c"),
    ("python", "wsframe._primitives_py", "wsframe._codec_py"),
)


def _load_impl(name, prim_mod, codec_mod):
    """(primitives module, codec module) of one implementation; ImportError if absent."""
    try:
        from wsframe import _impl
    except ImportError:
        _impl = None
    if _impl is not None and hasattr(_impl, "load"):
        ns = _impl.load(name)
        return ns.primitives, ns.codec
    return importlib.import_module(prim_mod), importlib.import_module(codec_mod)


def wsframe_implementations():
    """``({name: WsframeImpl}, {name: reason})`` for "c" and "python".

    With ``WSFRAME_NO_EXTENSIONS=1`` only the pure-Python implementation is measured, as
    it is the only one wsframe itself would use.
    """
    impls = {}
    missing = {}
    forced_py = os.environ.get("WSFRAME_NO_EXTENSIONS", "") not in ("", "0")
    for name, prim_mod, codec_mod in _IMPL_MODULES:
        if name == "c" and forced_py:
            missing[name] = "WSFRAME_NO_EXTENSIONS is set"
            continue
        try:
            prims, codec = _load_impl(name, prim_mod, codec_mod)
        except Exception as exc:
            missing[name] = "not available (%s: %s)" % (type(exc).__name__, exc)
            continue
        impls[name] = WsframeImpl(name, prims, codec)
    return impls, missing


def _wsframe_prim_candidates(impls, prim, attr, build):
    """Candidates for primitive ``attr`` of each implementation and each CPU path.

    ``build(func)`` returns the ``make`` function given the primitive.
    """
    out = []
    for name in ("c", "python"):
        impl = impls.get(name)
        if impl is None:
            continue
        func = getattr(impl.prims, attr, None)
        if func is None:
            continue
        for path in impl.paths(prim):
            label = "wsframe %s" % name + ("/%s" % path if path else "")
            out.append(Candidate(label, "wsframe", build(func), kind="wsframe",
                                 implementation=name, path=path,
                                 before=impl.setter(prim, path)))
    return out


# ---------------------------------------------------------------------------------------
# masking


def _copy_make(data, key):
    return bytearray, (data,)


def mask_candidates(impls):
    """Masking into a new buffer: ``make(data, key)``; the result is the masked bytes."""
    cands = _wsframe_prim_candidates(
        impls, "mask", "apply_mask", lambda f: (lambda data, key: (f, (data, key))))
    skipped = []

    def websockets_():
        _installed("websockets")
        f = resolve("websockets.speedups", "apply_mask")
        return Candidate("websockets (speedups.apply_mask)", "websockets",
                         lambda data, key: (f, (data, key)))

    def tornado_():
        _installed("tornado")
        f = resolve("tornado.speedups", "websocket_mask")
        return Candidate("tornado (speedups.websocket_mask)", "tornado",
                         lambda data, key: (f, (key, data)))

    def wsaccel_():
        _installed("wsaccel")
        create = resolve("wsaccel.xormask", "createXorMasker")

        def make(data, key):
            n = len(data)

            def op(data=data, key=key, n=n, create=create):
                return create(key, n).process(data)

            return op, ()

        return Candidate("wsaccel (createXorMasker().process)", "wsaccel", make)

    def autobahn_():
        _installed("autobahn")
        uses_nvx = resolve("autobahn.websocket.xormasker", "USES_NVX")
        if not uses_nvx:
            raise Skip("NVX extension not built (pure-Python masker only)")
        create = resolve("autobahn.websocket.xormasker", "create_xor_masker")

        def make(data, key):
            n = len(data)

            def op(data=data, key=key, n=n, create=create):
                return create(key, n).process(data)

            return op, ()

        return Candidate("autobahn (NVX create_xor_masker().process)", "autobahn", make)

    def aiohttp_():
        _installed("aiohttp")
        f = _aiohttp_masker()

        def make(data, key):
            # What aiohttp's writer does for a client frame: copy, then mask in place.
            def op(data=data, key=key, f=f, ba=bytearray):
                arr = ba(data)
                f(key, arr)
                return arr

            return op, ()

        return Candidate("aiohttp (bytearray copy + in-place masker)", "aiohttp", make)

    def picows_():
        _installed("picows")
        raise Skip("its SIMD masker is C-level only (cdef), not callable from Python")

    def wsproto_():
        _installed("wsproto")
        raise Skip("masks in pure Python inside its frame writer; measured in encode")

    for probe in (websockets_, aiohttp_, tornado_, wsaccel_, autobahn_, picows_, wsproto_):
        _collect(probe, cands, skipped)
    cands.append(Candidate("copy: bytearray(data)", "reference", _copy_make, kind="reference"))
    return cands, skipped


def _aiohttp_masker():
    f = _resolve_first([
        ("aiohttp._websocket.mask", "_websocket_mask_cython"),
        ("aiohttp._websocket", "_websocket_mask_cython"),
        ("aiohttp._websocket.helpers", "_websocket_mask_cython"),
    ])
    if not _is_compiled(f):
        raise Skip("compiled masker not built (pure-Python fallback)")
    return f


def mask_inplace_candidates(impls):
    """Masking in place: ``make(buf, key)`` with ``buf`` a bytearray, masked in place."""
    cands = _wsframe_prim_candidates(
        impls, "mask", "apply_mask_inplace", lambda f: (lambda buf, key: (f, (buf, key))))
    skipped = []

    def aiohttp_():
        _installed("aiohttp")
        f = _aiohttp_masker()
        return Candidate("aiohttp (mask._websocket_mask_cython)", "aiohttp",
                         lambda buf, key: (f, (key, buf)))

    def no_inplace(lib):
        def probe():
            _installed(lib)
            raise Skip("no in-place masking function")

        probe.__name__ = lib
        return probe

    for probe in (aiohttp_, no_inplace("websockets"), no_inplace("tornado"),
                  no_inplace("wsaccel")):
        _collect(probe, cands, skipped)
    cands.append(Candidate("copy: bytearray(data)", "reference",
                           lambda buf, key: (bytearray, (buf,)), kind="reference"))
    return cands, skipped


def _collect(probe, cands, skipped, lib=None):
    if lib is None:
        lib = probe.__name__.rstrip("_")
    try:
        c = probe()
    except Skip as exc:
        skipped.append((lib, str(exc)))
        return
    except Exception as exc:  # an unexpected failure in a peer is reported, not fatal
        skipped.append((lib, "setup failed: %s: %s" % (type(exc).__name__, exc)))
        return
    if isinstance(c, list):
        cands.extend(c)
    else:
        cands.append(c)


# ---------------------------------------------------------------------------------------
# UTF-8 validation: make(data) -> (func, args); func(*args) is truthy for valid text and
# falsy (or raises UnicodeDecodeError) for invalid text.


def utf8_candidates(impls):
    cands = _wsframe_prim_candidates(
        impls, "utf8", "validate_utf8", lambda f: (lambda data: (f, (data,))))
    skipped = []

    def validator(lib, module, attr, label):
        def probe():
            _installed(lib)
            if lib == "autobahn":
                if not resolve("autobahn.websocket.utf8validator", "USES_NVX"):
                    raise Skip("NVX extension not built (pure-Python validator only)")
            cls = resolve(module, attr)
            v = cls()

            def make(data):
                def op(v=v, data=data):
                    v.reset()
                    return v.validate(data)[0]

                return op, ()

            return Candidate(label, lib, make)

        probe.__name__ = lib
        return probe

    def uses_decode(lib):
        def probe():
            _installed(lib)
            raise Skip("validates text with bytes.decode (the reference row)")

        probe.__name__ = lib
        return probe

    for probe in (
        validator("wsaccel", "wsaccel.utf8validator", "Utf8Validator",
                  "wsaccel (Utf8Validator.validate)"),
        validator("autobahn", "autobahn.nvx", "Utf8Validator",
                  "autobahn (NVX Utf8Validator.validate)"),
        uses_decode("websockets"), uses_decode("aiohttp"), uses_decode("wsproto"),
        uses_decode("picows"),
    ):
        _collect(probe, cands, skipped)
    cands.append(Candidate("bytes.decode('utf-8')", "reference",
                           lambda data: (bytes.decode, (data,)), kind="reference"))
    return cands, skipped


# ---------------------------------------------------------------------------------------
# Decoding, server role: make(chunks, kind) -> (func, ()) where func() decodes the whole
# stream of masked frames, delivered in ``chunks``, and returns (messages, last payload).
# Text is delivered as ``str`` by every candidate (decoded and validated).

_RESOURCES = []


def resource_mark():
    """A mark for :func:`close_resources`: what is opened after it is closed by it."""
    return len(_RESOURCES)


def close_resources(mark=0):
    """Close the event loops and sockets opened by adapters since ``mark``."""
    while len(_RESOURCES) > mark:
        r = _RESOURCES.pop()
        try:
            r.close()
        except Exception:
            pass


def _wsframe_decode(impl):
    D = impl.codec.FrameDecoder

    def make(chunks, kind):
        def op(chunks=chunks, D=D):
            d = D("server", max_message_size=BIG_LIMIT, max_frame_size=BIG_LIMIT)
            n = 0
            last = None
            for c in chunks:
                ev = d.feed(c)
                if ev:
                    n += len(ev)
                    last = ev[-1]
            return n, (last.data if last is not None else None)

        return op, ()

    return make


def _wsframe_codec_candidates(impls, build):
    out = []
    for name in ("c", "python"):
        impl = impls.get(name)
        if impl is None or impl.codec is None:
            continue
        if not hasattr(impl.codec, "FrameDecoder"):
            continue
        out.append(Candidate("wsframe %s" % name, "wsframe", build(impl), kind="wsframe",
                             implementation=name))
    return out


class _SinkTransport(object):
    """An asyncio-transport stand-in that keeps what is written (no socket I/O)."""

    def __init__(self, sock=None):
        self.parts = []
        self._sock = sock

    def write(self, data):
        self.parts.append(data)

    def writelines(self, datas):
        self.parts.extend(datas)

    def is_closing(self):
        return False

    def get_write_buffer_size(self):
        # Never 0: picows would then send() on the socket itself.
        return 1

    def get_extra_info(self, name, default=None):
        if name == "socket":
            return self._sock
        return default

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def close(self):
        pass


class _FlowStub(object):
    """The bits of aiohttp's BaseProtocol that its reader and writer touch."""

    _reading_paused = False
    _paused = False

    def pause_reading(self):
        self._reading_paused = True

    def resume_reading(self):
        self._reading_paused = False


def _new_loop():
    loop = asyncio.new_event_loop()
    _RESOURCES.append(loop)
    return loop


def decode_candidates(impls):
    cands = _wsframe_codec_candidates(impls, _wsframe_decode)
    skipped = []

    def websockets_():
        _installed("websockets")
        ServerProtocol = resolve("websockets.server", "ServerProtocol")
        State = resolve("websockets.protocol", "State")
        Opcode = resolve("websockets.frames", "Opcode")
        OPEN, TEXT, BINARY = State.OPEN, Opcode.TEXT, Opcode.BINARY

        def make(chunks, kind):
            # The sans-IO protocol leaves UTF-8 decoding of text to its caller (its
            # asyncio layer does it); done here so that every row delivers str.
            def op(chunks=chunks):
                p = ServerProtocol(state=OPEN, max_size=BIG_LIMIT)
                n = 0
                last = None
                for c in chunks:
                    p.receive_data(c)
                    for f in p.events_received():
                        op_ = f.opcode
                        if op_ is TEXT:
                            last = f.data.decode()
                            n += 1
                        elif op_ is BINARY:
                            last = f.data
                            n += 1
                if p.parser_exc is not None:
                    raise p.parser_exc
                return n, last

            return op, ()

        return Candidate("websockets (ServerProtocol, sans-IO)", "websockets", make)

    def wsproto_():
        _installed("wsproto")
        Connection = resolve("wsproto.connection", "Connection")
        ConnectionType = resolve("wsproto.connection", "ConnectionType")
        Message = resolve("wsproto.events", "Message")
        SERVER = ConnectionType.SERVER

        def make(chunks, kind):
            def op(chunks=chunks):
                conn = Connection(SERVER)
                n = 0
                last = None
                parts = []
                for c in chunks:
                    conn.receive_data(c)
                    for ev in conn.events():
                        if isinstance(ev, Message):
                            # wsproto hands out what has arrived of a message so far;
                            # the pieces are joined into the whole message.
                            if ev.message_finished:
                                if parts:
                                    parts.append(ev.data)
                                    last = parts[0][:0].join(parts)
                                    parts = []
                                else:
                                    last = ev.data
                                n += 1
                            else:
                                parts.append(ev.data)
                        else:
                            raise RuntimeError("unexpected wsproto event %r" % (ev,))
                return n, last

            return op, ()

        return Candidate("wsproto (Connection)", "wsproto", make)

    def aiohttp_reader(label, module):
        def probe():
            _installed("aiohttp")
            Reader = resolve(module, "WebSocketReader")
            Queue = resolve(module, "WebSocketDataQueue")
            loop = _new_loop()
            proto = _FlowStub()

            def make(chunks, kind):
                def op(chunks=chunks):
                    q = Queue(proto, 1 << 30, loop=loop)
                    r = Reader(q, BIG_LIMIT, False, True)
                    buf = q._buffer
                    n = 0
                    last = None
                    for c in chunks:
                        r.feed_data(c)
                        if buf:
                            n += len(buf)
                            last = buf[-1][0]
                            buf.clear()
                    exc = q.exception()
                    if exc is not None:
                        raise exc
                    return n, (last.data if last is not None else None)

                return op, ()

            return Candidate(label, "aiohttp", make)

        probe.__name__ = "aiohttp"
        return probe

    def picows_():
        _installed("picows")
        return Candidate("picows (WSProtocol fed bytes)", "picows", _picows_decode_make())

    def no_sansio(lib, why):
        def probe():
            _installed(lib)
            raise Skip(why)

        probe.__name__ = lib
        return probe

    for probe in (
        websockets_, wsproto_,
        aiohttp_reader("aiohttp (compiled WebSocketReader)", "aiohttp._websocket.reader_c"),
        aiohttp_reader("aiohttp (Python WebSocketReader)", "aiohttp._websocket.reader_py"),
        picows_,
        no_sansio("tornado", "its frame parser is bound to an IOStream (no sans-IO entry)"),
        no_sansio("autobahn", "its frame parser is bound to its protocol/transport"),
    ):
        _collect(probe, cands, skipped)
    return cands, skipped


_PICOWS_REQUEST = (
    b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _picows_decode_make():
    """A picows server-side WSProtocol, handshake done, fed bytes through its
    BufferedProtocol interface (get_buffer/buffer_updated), as asyncio would."""
    WSProtocol = resolve("picows.picows", "WSProtocol")
    WSListener = resolve("picows", "WSListener")
    WSMsgType = resolve("picows", "WSMsgType")
    WSAutoPingStrategy = resolve("picows", "WSAutoPingStrategy")
    TEXT = WSMsgType.TEXT
    BINARY = WSMsgType.BINARY

    class Listener(WSListener):
        def __init__(self):
            self.n = 0
            self.last = None

        def on_ws_frame(self, transport, frame):
            t = frame.msg_type
            if t is TEXT:
                self.last = frame.get_payload_as_utf8_text()
                self.n += 1
            elif t is BINARY:
                self.last = frame.get_payload_as_bytes()
                self.n += 1

    loop = _new_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    _RESOURCES.append(sock)
    logger = logging.getLogger("wsframe.bench.picows")
    logger.setLevel(logging.WARNING)
    logger.propagate = False

    def make(chunks, kind):
        listener = Listener()

        async def create():
            return WSProtocol(
                None, "/", False, lambda request: listener, logger, True, None,
                False, 10.0, 10.0, WSAutoPingStrategy.PING_WHEN_IDLE, False,
                BIG_LIMIT, None, 256 * 1024,
            )

        coro = create()
        try:
            proto = loop.run_until_complete(coro)
        except TypeError as exc:
            raise Skip("picows.picows.WSProtocol signature changed: %s" % exc)
        finally:
            coro.close()  # no "never awaited" warning if the loop refused it
        transport = _SinkTransport(sock)
        proto.connection_made(transport)

        def feed(data, proto=proto):
            mv_len = len(data)
            pos = 0
            while pos < mv_len:
                buf = proto.get_buffer(-1)
                k = min(len(buf), mv_len - pos)
                buf[:k] = data[pos : pos + k]
                proto.buffer_updated(k)
                pos += k

        feed(_PICOWS_REQUEST)
        if not transport.parts or not bytes(transport.parts[0]).startswith(b"HTTP/1.1 101"):
            raise Skip("picows handshake did not complete with a stand-in transport")

        def op(chunks=chunks, feed=feed, listener=listener):
            listener.n = 0
            for c in chunks:
                feed(c)
            return listener.n, listener.last

        return op, ()

    return make


# ---------------------------------------------------------------------------------------
# Encoding: make(role, text) -> (func, args); func(*args) returns the bytes to write
# (bytes, or a list of buffers written in order) for one text message given as str.


def _wsframe_encode(impl):
    E = impl.codec.FrameEncoder

    def make(role, text):
        enc = E(role)
        return enc.text, (text,)

    return make


def encode_candidates(impls):
    cands = []
    for name in ("c", "python"):
        impl = impls.get(name)
        if impl is None or impl.codec is None or not hasattr(impl.codec, "FrameEncoder"):
            continue
        cands.append(Candidate("wsframe %s" % name, "wsframe", _wsframe_encode(impl),
                               kind="wsframe", implementation=name))
    skipped = []

    def websockets_():
        _installed("websockets")
        Protocol = resolve("websockets.protocol", "Protocol")
        State = resolve("websockets.protocol", "State")
        Side = resolve("websockets.protocol", "Side")

        def make(role, text):
            side = Side.CLIENT if role == "client" else Side.SERVER
            p = Protocol(side, state=State.OPEN)

            def op(text=text, send=p.send_text, out=p.data_to_send):
                send(text.encode())
                return out()

            return op, ()

        return Candidate("websockets (Protocol.send_text)", "websockets", make)

    def wsproto_():
        _installed("wsproto")
        Connection = resolve("wsproto.connection", "Connection")
        ConnectionType = resolve("wsproto.connection", "ConnectionType")
        TextMessage = resolve("wsproto.events", "TextMessage")

        def make(role, text):
            ct = ConnectionType.CLIENT if role == "client" else ConnectionType.SERVER
            conn = Connection(ct)

            def op(text=text, send=conn.send, M=TextMessage):
                return send(M(data=text))

            return op, ()

        return Candidate("wsproto (Connection.send)", "wsproto", make)

    def aiohttp_():
        _installed("aiohttp")
        Writer = _resolve_first([
            ("aiohttp._websocket.writer", "WebSocketWriter"),
            ("aiohttp.http_websocket", "WebSocketWriter"),
        ])

        def make(role, text):
            transport = _SinkTransport()
            w = Writer(_FlowStub(), transport, use_mask=(role == "client"))
            parts = transport.parts
            send_frame = w.send_frame

            # What WebSocketResponse.send_str does; the coroutine completes without
            # suspending for an uncompressed frame, so it is driven by hand.
            def op(text=text, send_frame=send_frame, parts=parts):
                coro = send_frame(text.encode("utf-8"), 1)
                try:
                    coro.send(None)
                except StopIteration:
                    pass
                else:
                    coro.close()
                    raise RuntimeError("aiohttp send_frame suspended")
                out = parts[:]
                del parts[:]
                return out

            return op, ()

        return Candidate("aiohttp (WebSocketWriter.send_frame)", "aiohttp", make)

    def picows_():
        _installed("picows")
        WSTransport = resolve("picows", "WSTransport")
        WSMsgType = resolve("picows", "WSMsgType")
        TEXT = WSMsgType.TEXT
        loop = _new_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        _RESOURCES.append(sock)
        logger = logging.getLogger("wsframe.bench.picows")

        def make(role, text):
            transport = _SinkTransport(sock)
            try:
                t = WSTransport(role == "client", transport, logger, loop)
            except TypeError as exc:
                raise Skip("picows.WSTransport signature changed: %s" % exc)
            parts = transport.parts

            def op(text=text, send=t.send, parts=parts):
                send(TEXT, text)
                out = [bytes(p) for p in parts] if len(parts) > 1 else parts[:]
                del parts[:]
                return out

            return op, ()

        return Candidate("picows (WSTransport.send)", "picows", make)

    def no_sansio(lib, why):
        def probe():
            _installed(lib)
            raise Skip(why)

        probe.__name__ = lib
        return probe

    for probe in (
        websockets_, wsproto_, aiohttp_, picows_,
        no_sansio("tornado", "its frame writer is bound to an IOStream (no sans-IO entry)"),
        no_sansio("autobahn", "its frame writer is bound to its protocol/transport"),
    ):
        _collect(probe, cands, skipped)
    return cands, skipped


# ---------------------------------------------------------------------------------------
# permessage-deflate (RFC 7692), context takeover, window 15, zlib level 6 where the
# library lets it be chosen.
#   decode: make(chunks) -> op() returning (messages, last text), server role;
#   encode: make(text) -> op() returning the bytes of one compressed client frame.


def _wsframe_pmd(role):
    PMD = resolve("wsframe.deflate", "PerMessageDeflate")
    return PMD(role, threshold=0)


def deflate_decode_candidates(impls):
    cands = []
    skipped = []
    for name in ("c", "python"):
        impl = impls.get(name)
        if impl is None or impl.codec is None:
            continue
        try:
            _wsframe_pmd("server")
        except Skip as exc:
            skipped.append(("wsframe", str(exc)))
            break
        D = impl.codec.FrameDecoder

        def make(chunks, D=D):
            def op(chunks=chunks, D=D):
                d = D("server", max_message_size=BIG_LIMIT, max_frame_size=BIG_LIMIT,
                      extensions=[_wsframe_pmd("server")])
                n = 0
                last = None
                for c in chunks:
                    ev = d.feed(c)
                    if ev:
                        n += len(ev)
                        last = ev[-1]
                return n, (last.data if last is not None else None)

            return op, ()

        cands.append(Candidate("wsframe %s" % name, "wsframe", make, kind="wsframe",
                               implementation=name))

    def websockets_():
        _installed("websockets")
        ServerProtocol = resolve("websockets.server", "ServerProtocol")
        State = resolve("websockets.protocol", "State")
        Opcode = resolve("websockets.frames", "Opcode")
        PMD = resolve("websockets.extensions.permessage_deflate", "PerMessageDeflate")
        TEXT = Opcode.TEXT

        def make(chunks):
            def op(chunks=chunks):
                p = ServerProtocol(state=State.OPEN, max_size=BIG_LIMIT)
                p.extensions = [PMD(False, False, 15, 15, {"level": 6})]
                n = 0
                last = None
                for c in chunks:
                    p.receive_data(c)
                    for f in p.events_received():
                        if f.opcode is TEXT:
                            last = f.data.decode()
                            n += 1
                if p.parser_exc is not None:
                    raise p.parser_exc
                return n, last

            return op, ()

        return Candidate("websockets (ServerProtocol + PerMessageDeflate)", "websockets", make)

    def wsproto_():
        _installed("wsproto")
        Connection = resolve("wsproto.connection", "Connection")
        ConnectionType = resolve("wsproto.connection", "ConnectionType")
        Message = resolve("wsproto.events", "Message")
        PMD = resolve("wsproto.extensions", "PerMessageDeflate")

        def make(chunks):
            def op(chunks=chunks):
                ext = PMD()
                ext.accept("permessage-deflate")
                conn = Connection(ConnectionType.SERVER, extensions=[ext])
                n = 0
                last = None
                parts = []
                for c in chunks:
                    conn.receive_data(c)
                    for ev in conn.events():
                        if isinstance(ev, Message):
                            # wsproto hands out what has arrived of a message so far;
                            # the pieces are joined into the whole message.
                            if ev.message_finished:
                                if parts:
                                    parts.append(ev.data)
                                    last = parts[0][:0].join(parts)
                                    parts = []
                                else:
                                    last = ev.data
                                n += 1
                            else:
                                parts.append(ev.data)
                        else:
                            raise RuntimeError("unexpected wsproto event %r" % (ev,))
                return n, last

            return op, ()

        return Candidate("wsproto (Connection + PerMessageDeflate)", "wsproto", make)

    def aiohttp_():
        _installed("aiohttp")
        Reader = resolve("aiohttp._websocket.reader", "WebSocketReader")
        Queue = resolve("aiohttp._websocket.reader", "WebSocketDataQueue")
        loop = _new_loop()
        proto = _FlowStub()
        compiled = "reader_c" in getattr(Reader, "__module__", "")

        def make(chunks):
            def op(chunks=chunks):
                q = Queue(proto, 1 << 30, loop=loop)
                r = Reader(q, BIG_LIMIT, True, True)
                buf = q._buffer
                n = 0
                last = None
                for c in chunks:
                    r.feed_data(c)
                    if buf:
                        n += len(buf)
                        last = buf[-1][0]
                        buf.clear()
                exc = q.exception()
                if exc is not None:
                    raise exc
                return n, (last.data if last is not None else None)

            return op, ()

        return Candidate("aiohttp (%s WebSocketReader, compress)" % (
            "compiled" if compiled else "Python"), "aiohttp", make)

    def no_deflate(lib, why):
        def probe():
            _installed(lib)
            raise Skip(why)

        probe.__name__ = lib
        return probe

    for probe in (websockets_, wsproto_, aiohttp_,
                  no_deflate("picows", "no permessage-deflate support"),
                  no_deflate("tornado", "its frame parser is bound to an IOStream"),
                  no_deflate("autobahn", "its frame parser is bound to its protocol")):
        _collect(probe, cands, skipped)
    return cands, skipped


def deflate_encode_candidates(impls):
    cands = []
    skipped = []
    for name in ("c", "python"):
        impl = impls.get(name)
        if impl is None or impl.codec is None:
            continue
        try:
            _wsframe_pmd("client")
        except Skip as exc:
            skipped.append(("wsframe", str(exc)))
            break
        E = impl.codec.FrameEncoder

        def make(text, E=E):
            enc = E("client", extensions=[_wsframe_pmd("client")])
            return enc.text, (text,)

        cands.append(Candidate("wsframe %s" % name, "wsframe", make, kind="wsframe",
                               implementation=name))

    def websockets_():
        _installed("websockets")
        Protocol = resolve("websockets.protocol", "Protocol")
        State = resolve("websockets.protocol", "State")
        Side = resolve("websockets.protocol", "Side")
        PMD = resolve("websockets.extensions.permessage_deflate", "PerMessageDeflate")

        def make(text):
            p = Protocol(Side.CLIENT, state=State.OPEN)
            p.extensions = [PMD(False, False, 15, 15, {"level": 6})]

            def op(text=text, send=p.send_text, out=p.data_to_send):
                send(text.encode())
                return out()

            return op, ()

        return Candidate("websockets (Protocol + PerMessageDeflate)", "websockets", make)

    def wsproto_():
        _installed("wsproto")
        Connection = resolve("wsproto.connection", "Connection")
        ConnectionType = resolve("wsproto.connection", "ConnectionType")
        TextMessage = resolve("wsproto.events", "TextMessage")
        PMD = resolve("wsproto.extensions", "PerMessageDeflate")

        def make(text):
            ext = PMD()
            ext.finalize("permessage-deflate")
            conn = Connection(ConnectionType.CLIENT, extensions=[ext])

            def op(text=text, send=conn.send, M=TextMessage):
                return send(M(data=text))

            return op, ()

        return Candidate("wsproto (Connection + PerMessageDeflate)", "wsproto", make)

    def aiohttp_():
        _installed("aiohttp")
        Writer = resolve("aiohttp._websocket.writer", "WebSocketWriter")
        limit = getattr(importlib.import_module("aiohttp._websocket.writer"),
                        "WEBSOCKET_MAX_SYNC_CHUNK_SIZE", 0)

        def make(text):
            if len(text.encode()) > limit:
                raise Skip("aiohttp compresses messages over %d bytes in a thread pool"
                           % limit)
            transport = _SinkTransport()
            w = Writer(_FlowStub(), transport, use_mask=True, compress=15)
            parts = transport.parts

            def op(text=text, send_frame=w.send_frame, parts=parts):
                coro = send_frame(text.encode("utf-8"), 1)
                try:
                    coro.send(None)
                except StopIteration:
                    pass
                else:
                    coro.close()
                    raise RuntimeError("aiohttp send_frame suspended")
                out = parts[:]
                del parts[:]
                return out

            return op, ()

        return Candidate("aiohttp (WebSocketWriter, compress; level 1, fixed)", "aiohttp",
                         make)

    for probe in (websockets_, wsproto_, aiohttp_):
        _collect(probe, cands, skipped)
    return cands, skipped


# ---------------------------------------------------------------------------------------
# wsframe.integrations: each library's own receive/send path with and without install().


def integration_cases(sizes):
    """``(cases, reason)``: the integrations' bench cases, or None and why not."""
    try:
        integ = importlib.import_module("wsframe.integrations")
    except Exception as exc:
        return None, "wsframe.integrations not importable (%s)" % exc
    bench_cases = getattr(integ, "bench_cases", None)
    install = getattr(integ, "install", None)
    uninstall = getattr(integ, "uninstall", None)
    if bench_cases is None or install is None or uninstall is None:
        return None, "wsframe.integrations has no bench_cases/install/uninstall"
    try:
        cases = bench_cases(sizes=sizes)
    except Exception as exc:
        return None, "wsframe.integrations.bench_cases() failed: %s: %s" % (
            type(exc).__name__, exc)
    if not cases:  # say why the section is empty (e.g. websockets 15 on CPython 3.9)
        found = []
        for name in getattr(integ, "LIBRARIES", ()):
            try:
                lib = integ.get(name)
                if lib.available():
                    found.append("%s %s" % (name, lib.version() or "(version unknown)"))
            except Exception:
                continue
        return None, "no library of a version wsframe.integrations knows is installed%s" % (
            " (installed: %s)" % ", ".join(found) if found else "")
    return (cases, install, uninstall), None


def integration_candidates(case, install, uninstall, implementation):
    """Two candidates for one integrations case: the library as is, and accelerated."""
    import warnings

    lib = case.library

    def state(on):
        def before():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if on:
                    install(lib, force=True)
                else:
                    uninstall(lib)

        return before

    def maker(on):
        def make():
            state(on)()
            fn = case.prepare()
            return fn, ()

        return make

    version = _dist_version(dict(PEERS).get(lib, lib.replace("_", "-"))) or ""
    plain = Candidate(("%s %s" % (lib, version)).strip(), lib, maker(False),
                      before=state(False))
    fast = Candidate("%s + wsframe.integrations" % lib, "wsframe", maker(True),
                     kind="wsframe", implementation=implementation, before=state(True))
    return [plain, fast]
