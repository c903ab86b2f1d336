"""An asyncio WebSocket echo client built on wsframe.

    python examples/echo_client.py ws://127.0.0.1:9001/path

Connects, echoes every message back with its type, answers pings and the close
handshake, offers permessage-deflate, and exits when the connection is closed.
"""

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

from connection import Connection

from wsframe import HandshakeError, ProtocolError, deflate, handshake

HEAD_LIMIT = 64 * 1024
HANDSHAKE_TIMEOUT = 10.0


async def run(url):
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise SystemExit("only ws://host[:port]/path URLs are supported, not %r" % url)
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.hostname if port == 80 else "%s:%d" % (parts.hostname, port)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, limit=HEAD_LIMIT), HANDSHAKE_TIMEOUT
    )
    offer = deflate.client_offer()
    request, key = handshake.build_request(host_header, path, extensions=offer)
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANDSHAKE_TIMEOUT)
    status, _reason, headers = handshake.parse_response(head)
    handshake.check_response(status, headers, key)
    response = ", ".join(handshake.header_values(headers, "Sec-WebSocket-Extensions"))
    try:
        extension = deflate.client_accept(offer, response or None)
    except ProtocolError as exc:  # the server negotiated badly: fail with 1010
        connection = Connection(reader, writer, "client")
        await connection.fail(exc.code, exc.reason)
        await connection.shutdown()
        return exc.code
    extensions = [extension] if extension is not None else []
    return await Connection(reader, writer, "client", extensions).echo()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    args = parser.parse_args()
    try:
        code = asyncio.run(run(args.url))
    except (HandshakeError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        print("echo_client: %s" % exc, file=sys.stderr)
        sys.exit(1)
    print("closed with code %s" % code)
