"""permessage-deflate with the websockets library as the peer, for every combination of
the four RFC 7692 parameters, both directions, and the bounded inflate."""

import itertools
import os

import pytest

websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.asyncio.server import serve as ws_serve  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

from wsframe.asyncio import Deflate, connect, serve  # noqa: E402

from .conftest import port_of  # noqa: E402

pytestmark = pytest.mark.interop

COMBINATIONS = list(itertools.product([False, True], [False, True], [None, 9], [None, 10]))
IDS = ["snct=%d-cnct=%d-smwb=%s-cmwb=%s" % c for c in COMBINATIONS]
MESSAGES = [
    "short",  # under the threshold: sent uncompressed
    "compressible text " * 5000,
    b"\x00" * 100000,
    os.urandom(70000),
    "ünïcödé ☃ " * 300,
    b"",
]


async def echo(conn):
    async for message in conn:
        await conn.send(message)


async def exchange(send, recv):
    for message in MESSAGES * 2:  # twice: the second round uses (or not) the context
        await send(message)
        assert await recv() == message
    await send(["frag", "mented " * 100, "compressed"])
    assert await recv() == "fragmented " + "mented " * 99 + "compressed"


@pytest.mark.parametrize("snct,cnct,smwb,cmwb", COMBINATIONS, ids=IDS)
def test_our_server_websockets_client(run_default, snct, cnct, smwb, cmwb):
    settings = Deflate(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    keys = []

    async def handler(conn):
        keys.append(conn._compression_params())
        await echo(conn)

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, compression=settings) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, compression="deflate", max_size=None) as ws:
                header = ws.response.headers["Sec-WebSocket-Extensions"]
                await exchange(ws.send, ws.recv)
        return header

    header = run_default(scenario)
    assert header.startswith("permessage-deflate")
    assert ("server_no_context_takeover" in header) == snct
    assert ("client_no_context_takeover" in header) == cnct
    key = keys[0]
    assert key is not None and key[0] == "server"
    assert key[1:3] == (snct, cnct)
    assert key[3] == (smwb or 15)
    assert key[-1] == (not snct)  # our compressor keeps its context unless snct


@pytest.mark.parametrize("snct,cnct,smwb,cmwb", COMBINATIONS, ids=IDS)
def test_our_client_websockets_server(run_default, snct, cnct, smwb, cmwb):
    settings = Deflate(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
        level=1,
        threshold=0,
    )

    async def scenario():
        factory = ServerPerMessageDeflateFactory()
        async with ws_serve(echo_ws, "127.0.0.1", 0, compression=None, extensions=[factory],
                            max_size=None) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            async with connect(url, compression=settings) as conn:
                key = conn._compression_params()
                await exchange(conn.send, conn.recv)
        return key

    key = run_default(scenario)
    assert key[0] == "client" and key[1:3] == (snct, cnct)
    assert key[3] == (smwb or 15) and key[4] == (cmwb or 15)
    assert key[-1] == (not cnct)


async def echo_ws(ws):
    async for message in ws:
        await ws.send(message)


@pytest.mark.parametrize("level,mem_level,threshold", [(0, 1, 0), (1, 9, 1), (9, 8, 1000)])
def test_compressor_settings(run_default, level, mem_level, threshold):
    async def scenario():
        settings = Deflate(level=level, mem_level=mem_level, threshold=threshold)
        async with serve(echo, "127.0.0.1", 0, compression=settings) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, max_size=None) as ws:
                await exchange(ws.send, ws.recv)
            async with connect(url, compression=settings) as conn:
                await exchange(conn.send, conn.recv)

    run_default(scenario)


def test_client_offer_declined_and_client_without_compression(run_default):
    async def scenario():
        async with serve(echo, "127.0.0.1", 0) as server:  # compression off
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, compression="deflate") as ws:
                assert "Sec-WebSocket-Extensions" not in ws.response.headers
                await exchange(ws.send, ws.recv)
        async with serve(echo, "127.0.0.1", 0, compression="deflate") as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with connect(url) as conn:  # no offer
                assert conn._compression_params() is None
                await exchange(conn.send, conn.recv)

    run_default(scenario)


def test_decompression_bomb_is_closed_with_1009(run):
    async def scenario():
        async with serve(echo, "127.0.0.1", 0, compression="deflate",
                         max_message_size=1 << 20) as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, compression="deflate") as ws:
                await ws.send(b"\x00" * (8 << 20))  # ~8 KiB on the wire
                with pytest.raises(websockets.ConnectionClosedError):
                    await ws.recv()
            return ws.close_code

    assert run(scenario) == 1009


@pytest.mark.parametrize("snct,cnct,smwb,cmwb", COMBINATIONS, ids=IDS)
def test_websockets_client_offers(run_default, snct, cnct, smwb, cmwb):
    """Our server (default Deflate) accepts what a websockets client offers."""
    offer = ClientPerMessageDeflateFactory(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb or True,
    )
    keys = []

    async def handler(conn):
        keys.append(conn._compression_params())
        await echo(conn)

    async def scenario():
        async with serve(handler, "127.0.0.1", 0, compression="deflate") as server:
            url = "ws://127.0.0.1:%d/" % port_of(server)
            async with ws_connect(url, compression=None, extensions=[offer], max_size=None) as ws:
                await exchange(ws.send, ws.recv)

    run_default(scenario)
    key = keys[0]
    assert key[1:5] == (snct, cnct, smwb or 15, cmwb or 15)
