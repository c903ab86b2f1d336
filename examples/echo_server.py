"""An asyncio WebSocket echo server built on wsframe.

    python examples/echo_server.py --port 9001

Echoes every text and binary message with its type, answers pings, completes the close
handshake echoing the client's close code, negotiates permessage-deflate when offered,
accepts messages up to 64 MiB in up to 65,536 fragments, serves many clients at once.
"""

import argparse
import asyncio
import sys

from connection import Connection

import wsframe
from wsframe import HandshakeError, deflate, handshake

HEAD_LIMIT = 64 * 1024
HANDSHAKE_TIMEOUT = 10.0


async def serve_client(reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANDSHAKE_TIMEOUT)
        method, _target, headers = handshake.parse_request(head)
        key = handshake.check_request(method, headers)
        offer = ", ".join(handshake.header_values(headers, "Sec-WebSocket-Extensions"))
        extension, accepted = deflate.server_negotiate(offer or None)
    except (HandshakeError, asyncio.LimitOverrunError, asyncio.IncompleteReadError,
            asyncio.TimeoutError, ConnectionError) as exc:
        status = getattr(exc, "status", 400)
        try:
            writer.write(handshake.build_error_response(status, str(exc) or "bad request"))
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()
        return
    writer.write(handshake.build_response(key, extensions=accepted))
    extensions = [extension] if extension is not None else []
    await Connection(reader, writer, "server", extensions).echo()


async def main(host, port):
    server = await asyncio.start_server(serve_client, host, port, limit=HEAD_LIMIT)
    addresses = ", ".join(str(s.getsockname()) for s in server.sockets)
    print("wsframe %s (%s) echo server on %s" % (wsframe.__version__, wsframe.implementation, addresses),
          flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)
