"""A WebSocket echo client on wsframe.asyncio.

    python examples/echo_client.py ws://127.0.0.1:9001/path

Connects (offering permessage-deflate), echoes every message back with its type until
the server closes the connection, then prints the close code.
"""

import argparse
import asyncio
import sys

from wsframe import FRAGMENT_COST, HandshakeError
from wsframe.asyncio import ConnectionClosed, connect

MAX_MESSAGE_SIZE = 64 * 1024 * 1024 + 65536 * FRAGMENT_COST


async def run(url):
    async with connect(
        url,
        compression="deflate",
        max_message_size=MAX_MESSAGE_SIZE,
        read_limit=2 * MAX_MESSAGE_SIZE,
        ping_interval=None,
    ) as conn:
        try:
            async for message in conn:
                await conn.send(message)
        except ConnectionClosed:
            pass
    return conn.close_code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    args = parser.parse_args()
    try:
        code = asyncio.run(run(args.url))
    except (HandshakeError, OSError, asyncio.TimeoutError) as exc:
        print("echo_client: %s" % exc, file=sys.stderr)
        sys.exit(1)
    print("closed with code %s" % code)
