"""A relay server process for the cross-process broadcast tests.

    python tests/broadcast_app.py REDIS_URL

Listens on a free loopback port and prints ``READY <port>`` once its broker is connected.
Every connection joins the channel named by its path; every message a client sends is
published on that channel unchanged (text as text, binary as binary), so it reaches every
client of every process. Runs until stdin closes (the test's end) or SIGTERM.
"""

import asyncio
import os
import signal
import sys

from wsframe.asyncio import BrokerUnavailable, RedisBroker, serve


async def main(url):
    broker = RedisBroker(url, initial_delay=0.02, max_delay=0.2, health_interval=1.0, health_timeout=1.0)
    async with broker:
        await broker.wait_connected(20)
        subs = {}

        async def handler(conn):
            channel = conn.request.path.strip("/") or "room"
            task = subs.get(channel)
            if task is None:  # one subscription per channel, however many join at once
                task = subs[channel] = asyncio.ensure_future(broker.subscribe(channel))
            sub = await task
            sub.add(conn)
            try:
                async for message in conn:
                    try:
                        await broker.publish(channel, message)
                    except BrokerUnavailable:
                        pass  # Redis is down: this message is lost (at most once)
            finally:
                sub.discard(conn)

        async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
            print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            loop.add_signal_handler(signal.SIGTERM, lambda: done.done() or done.set_result(None))
            loop.add_reader(sys.stdin.fileno(), lambda: os.read(sys.stdin.fileno(), 1024) or done.done()
                            or done.set_result(None))
            await done


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
