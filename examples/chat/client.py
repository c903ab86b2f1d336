"""A terminal client for the chat example: lines you type are sent, messages are printed.

    python examples/chat/client.py ws://127.0.0.1:8765/lobby

Reconnects by itself (backoff with jitter) when the server restarts or closes with 1012.
"""

import asyncio
import sys

from wsframe.asyncio import ConnectionClosed, connect


async def print_messages(conn):
    async for message in conn:
        print(message if isinstance(message, str) else "<%d bytes>" % len(message), flush=True)


async def main(uri):
    loop = asyncio.get_running_loop()
    async for conn in connect(uri, reconnect=True):
        printer = asyncio.ensure_future(print_messages(conn))
        try:
            while not printer.done():
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:  # end of input
                    await conn.close()
                    return
                await conn.send(line.rstrip("\n"))
        except ConnectionClosed:
            pass
        finally:
            printer.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8765/lobby"))
    except KeyboardInterrupt:
        pass
