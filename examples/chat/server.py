"""A broadcast chat server on wsframe.asyncio: rooms, join/leave, one process or several.

    # one process (rooms live in it: LocalBroker)
    python examples/chat/server.py --port 8765

    # four processes on one port (reuse_port), sharing rooms through Redis
    python examples/chat/server.py --port 8765 --processes 4 --redis redis://127.0.0.1:6379

    # or several hosts/ports, each started on its own, all on the same Redis
    python examples/chat/server.py --port 8766 --redis redis://127.0.0.1:6379

Connect with any WebSocket client (``python examples/chat/client.py``) to
``ws://127.0.0.1:8765/<room>`` (default room: lobby) and send text lines:

    /name alice        choose your name
    /join kitchen      leave the current room, join "kitchen"
    /who               how many members this process has in the room
    anything else      said to everyone in the room: "alice: anything else"

Binary messages are relayed to the room unchanged. Joins and leaves are announced
("* alice joined kitchen"). A member that cannot keep up (its send buffer over the
high-water mark) misses messages, and is closed with 1008 after 100 missed in a row.
"""

import argparse
import asyncio
import itertools
import logging
import multiprocessing
import os
import signal
import sys

from wsframe.asyncio import serve
from wsframe.asyncio.broadcast import SlowClientPolicy
from wsframe.asyncio.broker import LocalBroker

CHANNEL_PREFIX = "chat:"
MAX_NAME = 32
_guests = itertools.count(1)


class Chat:
    """The rooms of this process: one broker subscription per room with local members."""

    def __init__(self, broker):
        self.broker = broker
        self.rooms = {}  # room name -> task returning its Subscription

    async def join(self, conn, room):
        task = self.rooms.get(room)
        if task is None:  # subscribe once per room, even with many joining at once
            task = self.rooms[room] = asyncio.ensure_future(self.broker.subscribe(CHANNEL_PREFIX + room))
        sub = await task
        sub.add(conn)
        return sub

    async def leave(self, conn, room):
        task = self.rooms.get(room)
        if task is None:
            return
        sub = await task
        sub.discard(conn)
        if not sub and self.rooms.get(room) is task:
            del self.rooms[room]
            await sub.close()

    async def say(self, room, message):
        try:
            await self.broker.publish(CHANNEL_PREFIX + room, message)
            return True
        except ConnectionError:  # Redis unreachable: the message is lost (at most once)
            return False

    async def handler(self, conn):
        name = "guest-%d" % next(_guests)
        room = conn.request.path.strip("/").split("?")[0] or "lobby"
        sub = await self.join(conn, room)
        await self.say(room, "* %s joined %s" % (name, room))
        try:
            async for message in conn:
                if isinstance(message, bytes):
                    await self.say(room, message)
                elif message.startswith("/name "):
                    new = message[6:].strip()[:MAX_NAME] or name
                    await self.say(room, "* %s is now %s" % (name, new))
                    name = new
                elif message.startswith("/join "):
                    target = message[6:].strip() or room
                    if target != room:
                        await self.leave(conn, room)
                        await self.say(room, "* %s left %s" % (name, room))
                        room = target
                        sub = await self.join(conn, room)
                        await self.say(room, "* %s joined %s" % (name, room))
                elif message == "/who":
                    await conn.send("* %d here (in this process) in %s" % (len(sub), room))
                elif not await self.say(room, "%s: %s" % (name, message)):
                    await conn.send("* not delivered: the broker is unreachable")
        finally:
            await self.leave(conn, room)
            await self.say(room, "* %s left %s" % (name, room))


async def run(host, port, redis_url, reuse_port, ready=None):
    policy = SlowClientPolicy(close_after=100, close_code=1008)
    if redis_url:
        from wsframe.asyncio.redis_broker import RedisBroker

        broker = RedisBroker(redis_url, slow_client_policy=policy)
    else:
        broker = LocalBroker(slow_client_policy=policy)
    chat = Chat(broker)
    async with broker:
        if redis_url:
            await broker.wait_connected(30)
        async with serve(chat.handler, host, port, reuse_port=reuse_port or None) as server:
            where = ", ".join("%s:%s" % s.getsockname()[:2] for s in server.sockets)
            print("chat (pid %d) on %s, broker %s" % (os.getpid(), where, redis_url or "local"), flush=True)
            if ready is not None:
                ready.set()
            stop = asyncio.get_running_loop().create_future()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
            try:
                await stop
            except asyncio.CancelledError:
                pass


def worker(host, port, redis_url):
    try:
        asyncio.run(run(host, port, redis_url, reuse_port=True))
    except KeyboardInterrupt:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis", metavar="URL", help="share rooms with other processes through this Redis")
    parser.add_argument("--processes", type=int, default=1, help="processes on the same port (reuse_port; needs --redis)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(process)d %(levelname)s %(message)s")
    if args.processes > 1:
        if not args.redis:
            parser.error("--processes > 1 needs --redis: each process only knows its own connections")
        procs = [multiprocessing.Process(target=worker, args=(args.host, args.port, args.redis))
                 for _ in range(args.processes)]
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join()
        except KeyboardInterrupt:
            for p in procs:
                p.terminate()
                p.join(5)
        return
    try:
        asyncio.run(run(args.host, args.port, args.redis, reuse_port=False))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
