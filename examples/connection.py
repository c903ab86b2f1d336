"""A WebSocket connection over asyncio streams, built on wsframe: the reference for how
to drive the sans-IO codec from an event loop. Shared by echo_server.py and echo_client.py.
"""

import asyncio

import wsframe
from wsframe import FRAGMENT_COST, Opcode, ProtocolError

# Up to 64 MiB messages in up to 65,536 fragments: each fragment costs FRAGMENT_COST
# bytes of the message budget on top of its payload.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024 + 65536 * FRAGMENT_COST
READ_SIZE = 256 * 1024
CLOSE_TIMEOUT = 5.0  # seconds to wait for the peer's part of the closing handshake


class Connection:
    """Decoder, encoder and transport of one open WebSocket connection."""

    def __init__(self, reader, writer, role, extensions=()):
        self.reader = reader
        self.writer = writer
        self.role = role
        self.decoder = wsframe.FrameDecoder(
            role, max_message_size=MAX_MESSAGE_SIZE, extensions=extensions
        )
        self.encoder = wsframe.FrameEncoder(role, extensions=extensions)
        self.close_sent = False

    async def echo(self):
        """Echo every message until the connection closes; returns the close code seen."""
        try:
            while True:
                data = await self.reader.read(READ_SIZE)
                if not data:
                    return None  # the peer went away without a close frame
                try:
                    events = self.decoder.feed(data)
                except ProtocolError as exc:
                    await self.handle(exc.events)
                    await self.fail(exc.code, exc.reason)
                    return exc.code
                code = await self.handle(events)
                if code is not None:
                    return code
        except (ConnectionError, asyncio.IncompleteReadError):
            return None
        finally:
            await self.shutdown()

    async def handle(self, events):
        """Act on decoded events; returns the peer's close code once it closed."""
        for event in events:
            opcode = event.opcode
            if opcode == Opcode.TEXT:
                self.writer.write(self.encoder.text(event.data))
            elif opcode == Opcode.BINARY:
                self.writer.write(self.encoder.binary(event.data))
            elif opcode == Opcode.PING:
                self.writer.write(self.encoder.pong(event.data))
            elif opcode == Opcode.CLOSE:
                if not self.close_sent:  # echo the peer's code, as RFC 6455 5.5.1 suggests
                    self.send(self.encoder.close(event.code, ""))
                await self.writer.drain()
                return event.code if event.code is not None else 1005
        await self.writer.drain()
        return None

    def send(self, frame):
        self.close_sent = True
        self.writer.write(frame)

    async def fail(self, code, reason):
        """Fail the connection (RFC 6455 7.1.7): send a close frame, then hang up."""
        if not self.close_sent:
            reason_bytes = reason.encode("utf-8")[:123].decode("utf-8", "ignore")
            self.send(self.encoder.close(code, reason_bytes))
            try:
                await self.writer.drain()
            except ConnectionError:
                pass

    async def shutdown(self):
        """Close TCP: the server at once, the client after the server did (RFC 6455 7.1.1)."""
        if self.role == "client" and self.close_sent:
            try:
                await asyncio.wait_for(self.reader.read(), CLOSE_TIMEOUT)
            except (asyncio.TimeoutError, ConnectionError):
                pass
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError):
            pass
