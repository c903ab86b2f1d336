"""permessage-deflate interoperability with the ``websockets`` library over real
sockets on 127.0.0.1, in both directions: our side is handshake.py + deflate.py + the
codec over asyncio streams; theirs is websockets.asyncio with its own permessage-deflate
(compression="deflate", or its Server/ClientPerMessageDeflateFactory).

Every await has a timeout and every loop a bound, so a hang fails instead of blocking.
"""

import asyncio
import os
import random

import pytest

from wsframe import Opcode
from wsframe.deflate import available_backends, client_accept, client_offer, server_negotiate
from wsframe.handshake import (
    build_request,
    build_response,
    check_request,
    check_response,
    parse_request,
    parse_response,
)

pytestmark = pytest.mark.interop

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    PerMessageDeflate as TheirPerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

T = 10  # seconds, for any single await
MAX_READS = 10_000  # bound on socket reads per exchange


def json_text(size, seed=0):
    rng = random.Random(seed)
    parts = []
    total = 0
    while total < size:
        part = '{"id":%d,"user":"u%04d","score":%.3f},' % (total, rng.randrange(9999), rng.random())
        parts.append(part)
        total += len(part)
    return "".join(parts)[:size]


MESSAGES = [
    "hello",  # below our threshold: sent uncompressed by us, compressed by websockets
    json_text(2000),
    bytes(range(256)) * 100,
    json_text(2000),  # a repeat: context takeover shows
    os.urandom(3000),  # incompressible
    json_text(200_000, 3),
] + ['{"seq":%d,"value":"%s"}' % (i, "x" * (i * 7)) for i in range(30)]

# (their factory's arguments, our matching wishes), one per context-takeover setting and
# window choice.
CONFIGS = {
    "default": (None, {}),
    "server_no_context_takeover": ({"server_no_context_takeover": True}, {"server_no_context_takeover": True}),
    "client_no_context_takeover": ({"client_no_context_takeover": True}, {"client_no_context_takeover": True}),
    "both_no_context_takeover": (
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
    ),
    "windows": (
        {"server_max_window_bits": 10, "client_max_window_bits": 12},
        {"server_max_window_bits": 10, "client_max_window_bits": 12},
    ),
}


class Counting:
    """Our PerMessageDeflate, counting the compressed messages each way."""

    def __init__(self, pmd):
        self.pmd = pmd
        self.rsv_bits = pmd.rsv_bits
        self.inflated = 0
        self.deflated = 0

    def inflate(self, data, fin, max_out):
        if fin:
            self.inflated += 1
        return self.pmd.inflate(data, fin, max_out)

    def deflate(self, data, fin):
        if fin:
            self.deflated += 1
        return self.pmd.deflate(data, fin)

    def should_compress(self, size):
        return self.pmd.should_compress(size)


def extensions_header(headers):
    values = [v for k, v in headers if k.lower() == "sec-websocket-extensions"]
    return ", ".join(values) if values else None


async def next_events(reader, decoder, count):
    """Read until ``count`` events came; bounded in reads and time."""
    events = []
    for _ in range(MAX_READS):
        if len(events) >= count:
            return events
        data = await asyncio.wait_for(reader.read(65536), T)
        if not data:
            raise AssertionError("connection closed after %d events" % len(events))
        events += decoder.feed(data)
    raise AssertionError("no %d events after %d reads" % (count, MAX_READS))


def run(coroutine):
    asyncio.run(asyncio.wait_for(coroutine, 120))


# --- our client, their server --------------------------------------------------------


async def our_client_session(impl, port, offer, backend):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), T)
    try:
        head, key = build_request("127.0.0.1:%d" % port, "/", extensions=offer)
        writer.write(head)
        await asyncio.wait_for(writer.drain(), T)
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), T)
        status, _, headers = parse_response(response)
        check_response(status, headers, key)
        pmd = client_accept(offer, extensions_header(headers), backend=backend)
        assert pmd is not None, "websockets did not accept permessage-deflate"
        ext = Counting(pmd)
        encoder = impl.FrameEncoder("client", extensions=[ext])
        decoder = impl.FrameDecoder("client", extensions=[ext], max_message_size=1 << 20)
        for message in MESSAGES:
            if isinstance(message, str):
                writer.write(encoder.text(message))
            else:
                writer.write(encoder.binary(message))
            await asyncio.wait_for(writer.drain(), T)
            (event,) = await next_events(reader, decoder, 1)
            assert event.data == message
            assert event.opcode == (Opcode.TEXT if isinstance(message, str) else Opcode.BINARY)
        # a compressed message of several frames, a ping in the middle
        text = json_text(50_000, 7)
        writer.write(encoder.encode(Opcode.TEXT, text[:100], fin=False, rsv1=True))
        writer.write(encoder.encode(Opcode.CONTINUATION, text[100:30_000], fin=False))
        writer.write(encoder.ping(b"ping"))
        writer.write(encoder.encode(Opcode.CONTINUATION, text[30_000:], fin=True))
        await asyncio.wait_for(writer.drain(), T)
        events = await next_events(reader, decoder, 2)
        assert [(e.opcode, e.data) for e in events] == [(Opcode.PONG, b"ping"), (Opcode.TEXT, text)]
        writer.write(encoder.close(1000, "bye"))
        await asyncio.wait_for(writer.drain(), T)
        (close,) = await next_events(reader, decoder, 1)
        assert close.opcode == Opcode.CLOSE and close.code == 1000
        # websockets compresses every message; we compressed all but the small ones
        assert ext.inflated >= len(MESSAGES) - 1
        assert ext.deflated >= 5
        return pmd
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), T)
        except (ConnectionError, asyncio.TimeoutError):
            pass


async def echo(ws):
    async for message in ws:
        await asyncio.wait_for(ws.send(message), T)


async def with_their_server(impl, their, ours, backend):
    if their is None:
        kwargs = {"compression": "deflate"}
    else:
        kwargs = {"extensions": [ServerPerMessageDeflateFactory(**their)], "compression": None}
    seen = []

    async def handler(ws):
        seen.append(ws.protocol.extensions)
        await echo(ws)

    async with serve(handler, "127.0.0.1", 0, max_size=1 << 20, **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        offer = client_offer(**ours)
        pmd = await our_client_session(impl, port, offer, backend)
    assert len(seen) == 1 and isinstance(seen[0][0], TheirPerMessageDeflate)
    return pmd


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_our_client_with_their_server(impl, config):
    their, ours = CONFIGS[config]
    pmd = None

    async def main():
        nonlocal pmd
        pmd = await with_their_server(impl, their, ours, "auto")

    run(main())
    if their:
        assert pmd.server_no_context_takeover == their.get("server_no_context_takeover", False)
        assert pmd.client_no_context_takeover == their.get("client_no_context_takeover", False)
        assert pmd.server_max_window_bits == (their.get("server_max_window_bits") or 15)
        assert pmd.client_max_window_bits == (their.get("client_max_window_bits") or 15)


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_our_client_compresses_for_their_window_of_8(impl, backend):
    """websockets inflates with wbits=-8: we compress with zlib's wbits=9 (never more
    than 250 bytes back), also when isal is the backend."""
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)
    pmd = None

    async def main():
        nonlocal pmd
        pmd = await with_their_server(
            impl, {"client_max_window_bits": 8}, {"client_max_window_bits": True}, backend
        )

    run(main())
    assert pmd.client_max_window_bits == 8
    assert pmd.deflate_backend != "isal"


# --- their client, our server --------------------------------------------------------


async def our_server_connection(impl, reader, writer, config, backend, results):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), T)
        method, _, headers = parse_request(head)
        key = check_request(method, headers)
        pmd, response = server_negotiate(extensions_header(headers), backend=backend, **config)
        assert pmd is not None, "no acceptable offer from websockets"
        results.append(pmd)
        writer.write(build_response(key, extensions=response))
        ext = Counting(pmd)
        results.append(ext)
        encoder = impl.FrameEncoder("server", extensions=[ext])
        decoder = impl.FrameDecoder("server", extensions=[ext], max_message_size=1 << 20)
        for _ in range(MAX_READS):
            data = await asyncio.wait_for(reader.read(65536), T)
            if not data:
                return
            for event in decoder.feed(data):
                if event.opcode == Opcode.TEXT:
                    writer.write(encoder.text(event.data))
                elif event.opcode == Opcode.BINARY:
                    writer.write(encoder.binary(event.data))
                elif event.opcode == Opcode.PING:
                    writer.write(encoder.pong(event.data))
                elif event.opcode == Opcode.CLOSE:
                    writer.write(encoder.close(event.code or 1000))
                    await asyncio.wait_for(writer.drain(), T)
                    return
            await asyncio.wait_for(writer.drain(), T)
        raise AssertionError("too many reads")
    except Exception as exc:  # reported by the test, not lost in the server task
        results.append(exc)
    finally:
        writer.close()


async def with_their_client(impl, their, ours, backend):
    results = []

    async def handle(reader, writer):
        await our_server_connection(impl, reader, writer, ours, backend, results)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        if their is None:
            kwargs = {"compression": "deflate"}
        else:
            kwargs = {"extensions": [ClientPerMessageDeflateFactory(**their)], "compression": None}
        async with connect(
            "ws://127.0.0.1:%d/" % port,
            proxy=None,
            max_size=1 << 20,
            open_timeout=T,
            close_timeout=T,
            ping_interval=None,
            **kwargs,
        ) as ws:
            (extension,) = ws.protocol.extensions
            assert isinstance(extension, TheirPerMessageDeflate)
            for message in MESSAGES:
                await asyncio.wait_for(ws.send(message), T)
                assert await asyncio.wait_for(ws.recv(), T) == message
            # a fragmented message from them
            parts = [json_text(10_000, n) for n in range(5)]
            await asyncio.wait_for(ws.send(parts), T)
            assert await asyncio.wait_for(ws.recv(), T) == "".join(parts)
            await asyncio.wait_for(ws.ping(b"hi"), T)
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), T)
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        raise errors[0]
    pmd, ext = results
    assert ext.inflated == len(MESSAGES) + 1  # websockets compresses every message
    assert ext.deflated >= 5
    return pmd


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_their_client_with_our_server(impl, config):
    their, ours = CONFIGS[config]
    pmd = None

    async def main():
        nonlocal pmd
        pmd = await with_their_client(impl, their, ours, "auto")

    run(main())
    if their:
        assert pmd.server_no_context_takeover == their.get("server_no_context_takeover", False)
        assert pmd.client_no_context_takeover == their.get("client_no_context_takeover", False)
        assert pmd.server_max_window_bits == (their.get("server_max_window_bits") or 15)


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_our_server_compresses_for_their_window_of_8(impl, backend):
    """websockets' client may ask server_max_window_bits=8 for its inflater."""
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)
    pmd = None

    async def main():
        nonlocal pmd
        pmd = await with_their_client(impl, {"server_max_window_bits": 8}, {}, backend)

    run(main())
    assert pmd.server_max_window_bits == 8
    assert pmd.deflate_backend != "isal"


@pytest.mark.parametrize("backend", ["zlib", "zlib-ng", "isal"])
def test_each_backend_both_directions(impl, backend):
    if backend not in available_backends():
        pytest.skip("backend %s is not installed" % backend)

    async def main():
        await with_their_server(impl, None, {}, backend)
        await with_their_client(impl, None, {}, backend)

    run(main())
