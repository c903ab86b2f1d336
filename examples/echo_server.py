"""A WebSocket echo server on wsframe.asyncio.

    python examples/echo_server.py --port 9001 [--uvloop]

Echoes every text and binary message with its type; answers pings; echoes the client's
close code; negotiates permessage-deflate when offered; accepts messages up to 64 MiB.
"""

import argparse
import asyncio
import sys

import wsframe
from wsframe import FRAGMENT_COST
from wsframe.asyncio import serve

# 64 MiB messages in up to 65,536 fragments (each fragment costs FRAGMENT_COST bytes).
MAX_MESSAGE_SIZE = 64 * 1024 * 1024 + 65536 * FRAGMENT_COST


async def echo(conn):
    async for message in conn:
        await conn.send(message)


async def main(host, port):
    async with serve(
        echo,
        host,
        port,
        compression="deflate",
        max_message_size=MAX_MESSAGE_SIZE,
        read_limit=2 * MAX_MESSAGE_SIZE,
        ping_interval=None,
    ) as server:
        addresses = ", ".join(str(s.getsockname()) for s in server.sockets)
        print("wsframe %s (%s) echo server on %s"
              % (wsframe.__version__, wsframe.implementation, addresses), flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)
