"""WebSocket server and client for asyncio, on wsframe's codec.

One ``asyncio.BufferedProtocol`` per connection: the codec decodes whole reads, the frames sent
during one turn of the event loop leave in one write, and a message that already arrived
is returned by ``recv()`` without a future or a task switch. Runs on any asyncio event
loop (uvloop included, when the application installs it)::

    import asyncio
    from wsframe.asyncio import serve, connect

    async def echo(conn):
        async for message in conn:
            await conn.send(message)

    async def main():
        async with serve(echo, "127.0.0.1", 8765):
            async with connect("ws://127.0.0.1:8765/") as conn:
                await conn.send("hello")
                print(await conn.recv())

    asyncio.run(main())

See docs/asyncio.md for every option, back-pressure and memory bounds, heartbeats and
reconnection.
"""

from .backoff import Backoff
from .client import RETRY_CODES, ClientConnection, connect
from .connection import Connection, State
from .exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)
from .http import Request, Response
from .options import Deflate
from .server import Server, ServerConnection, serve

__all__ = [
    "serve",
    "connect",
    "Server",
    "Connection",
    "ServerConnection",
    "ClientConnection",
    "State",
    "Request",
    "Response",
    "Deflate",
    "Backoff",
    "RETRY_CODES",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "InvalidStatus",
]

# Broadcast: one encode for many connections, brokers between processes (docs/scaling.md).
from .broadcast import BroadcastResult, SlowClientPolicy, broadcast  # noqa: E402
from .broker import Broker, LocalBroker, Subscription  # noqa: E402

__all__ += ["broadcast", "SlowClientPolicy", "BroadcastResult", "Broker", "LocalBroker", "Subscription",
            "RedisBroker", "BrokerUnavailable"]


def __getattr__(name: str):  # RedisBroker imports the redis package: only when asked for
    if name in ("RedisBroker", "BrokerUnavailable"):
        from . import redis_broker

        return getattr(redis_broker, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
