"""A broker over Redis pub/sub: broadcast across processes and hosts.

Needs the ``redis`` package (``pip install wsframe[redis]``), version 5 or later, and
uses its asyncio client. Every process runs one :class:`RedisBroker`: it publishes on
one Redis connection and receives on another (a pub/sub connection), subscribed to every
channel that has a local :class:`~wsframe.asyncio.broker.Subscription`.

Semantics (docs/scaling.md says more):

- **At most once.** Redis pub/sub stores nothing: a message reaches the processes
  subscribed at the moment Redis receives it. While a process is disconnected from
  Redis (Redis restarting, a network cut) the messages published meanwhile never reach
  it; a ``publish`` made while *this* process cannot reach Redis raises
  :class:`BrokerUnavailable` (nothing is queued for later).
- **Order.** Redis delivers the messages of one channel in the order it received them,
  the same order to every subscriber; one process's publishes go out on one
  connection in the order ``publish`` was called, so a publisher's messages arrive
  everywhere in the order it published them. A process receives its own publishes
  through Redis too, so every process sees the same order.
- **Reconnection.** When the pub/sub connection fails (or stops answering its health
  pings) the broker reconnects with exponential backoff and full jitter
  (``initial_delay * factor**n``, capped at ``max_delay``, a uniformly random delay
  below that) and subscribes again to every channel.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from .broker import Broker, Message, _check_channel, pack

try:
    import redis.asyncio as _redis
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.asyncio.retry import Retry as _Retry
    from redis.backoff import NoBackoff as _NoBackoff
    from redis.exceptions import TimeoutError as _RedisTimeoutError
except ImportError:  # pragma: no cover - the optional extra is absent
    _redis = None

logger = logging.getLogger("wsframe.asyncio.redis")


class BrokerUnavailable(ConnectionError):
    """``publish`` could not reach Redis: the message was not sent (at most once)."""


class RedisBroker(Broker):
    """Redis pub/sub broker. ``url`` is a ``redis://`` (or ``rediss://``, ``unix://``) URL.

    ``connect_timeout``: seconds to establish a connection; ``health_interval``: after
    that many quiet seconds the pub/sub connection is pinged, and dropped (then
    reconnected) when nothing answers within ``health_timeout``; ``initial_delay``,
    ``factor``, ``max_delay``: the reconnection backoff; ``redis_options``: passed on
    to ``redis.asyncio.Redis.from_url``. ``slow_client_policy``: see
    :class:`~wsframe.asyncio.broker.Broker`.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        connect_timeout: float = 2.0,
        health_interval: float = 5.0,
        health_timeout: float = 5.0,
        initial_delay: float = 0.05,
        factor: float = 2.0,
        max_delay: float = 5.0,
        slow_client_policy: Any = None,
        redis_options: dict | None = None,
    ) -> None:
        if _redis is None:
            raise ImportError("RedisBroker needs the redis package: pip install 'wsframe[redis]'")
        super().__init__(slow_client_policy=slow_client_policy)
        for name, value in (("connect_timeout", connect_timeout), ("health_interval", health_interval),
                            ("health_timeout", health_timeout), ("initial_delay", initial_delay),
                            ("max_delay", max_delay)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError("%s must be a positive number of seconds, not %r" % (name, value))
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor >= 1:
            raise ValueError("factor must be a number >= 1, not %r" % (factor,))
        self.url = url
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.initial_delay = initial_delay
        self.factor = factor
        self.max_delay = max_delay
        options = dict(
            socket_connect_timeout=connect_timeout,
            # Our own loop retries: redis-py must fail fast and let it.
            retry=_Retry(_NoBackoff(), 0),
            decode_responses=False,
        )
        options.update(redis_options or {})
        self._options = options
        # Publishing: one connection, so publishes leave in call order.
        self._publisher = _redis.Redis.from_url(url, single_connection_client=True, **options)
        self._pubsub_client = _redis.Redis.from_url(url, **options)
        self._pubsub: Any = None
        self._outbox: list = []  # (channel, data, future) not yet handed to Redis
        self._sending = False  # a publish is on its way to Redis
        self._sender: asyncio.Task | None = None  # sends what queued meanwhile
        self._reader: asyncio.Task | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._rng = random.Random()
        #: How many times the pub/sub connection was (re)established.
        self.connections_made = 0
        #: Messages published by this process (successfully handed to Redis).
        self.published = 0

    @property
    def connected(self) -> bool:
        """Whether the pub/sub connection is up (messages published now reach us)."""
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once the pub/sub connection is up (``asyncio.TimeoutError`` after
        ``timeout`` seconds)."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def start(self) -> None:
        """Start the receiving task (it connects, and reconnects, by itself). Returns at
        once: use :meth:`wait_connected` to wait for the connection."""
        if self._reader is None:
            self._closing = False
            self._reader = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        self._closing = True
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            try:
                await sender
            except (asyncio.CancelledError, Exception):
                pass
        for _, _, done in self._outbox:
            if not done.done():
                done.set_exception(BrokerUnavailable("broker closed before this message was sent"))
        self._outbox = []
        self._sending = False
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        await self._drop_pubsub()
        for client in (self._publisher, self._pubsub_client):
            await _aclose(client)

    async def publish(self, channel: str, message: Message) -> int:
        """Publish ``message`` on ``channel``: returns how many subscribed connections
        (processes) Redis handed it to; raises :class:`BrokerUnavailable` when Redis
        cannot be reached (the message is dropped).

        Publishes made while earlier ones are on their way are sent together, in call
        order, as one pipeline (one round trip for the batch): many tasks publishing at
        once cost one round trip per batch, not per message.
        """
        _check_channel(channel)
        data = pack(message)
        if self._sending:  # a publish is on its way: this one leaves with the next batch
            done = asyncio.get_running_loop().create_future()
            self._outbox.append((channel, data, done))
            return await done
        # Nothing on its way: this caller sends its message itself (no task, no future).
        self._sending = True
        try:
            receivers = (await self._send_batch([(channel, data, None)]))[0]
        finally:
            if self._outbox and not self._closing:  # queued meanwhile: a task sends them
                self._sender = asyncio.ensure_future(self._send_outbox())
            else:
                self._sending = False
        self.published += 1
        return receivers

    async def _send_batch(self, batch: list) -> list:
        """Hand a batch to Redis (one command, or one pipeline); the receiver counts."""
        try:
            if len(batch) == 1:
                return [await self._publisher.publish(batch[0][0], batch[0][1])]
            pipe = self._publisher.pipeline(transaction=False)
            for channel, data, _ in batch:
                pipe.publish(channel, data)
            return await pipe.execute()
        except (_RedisConnectionError, _RedisTimeoutError, OSError) as exc:
            raise BrokerUnavailable("cannot publish to Redis at %s: %s" % (self.url, exc)) from exc

    async def _send_outbox(self) -> None:
        """Send what queued while a publish was on its way: batches leave in order."""
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                try:
                    results = await self._send_batch(batch)
                except Exception as exc:  # BrokerUnavailable, a Redis error reply: to each caller
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                except BaseException:  # cancelled by close()
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(BrokerUnavailable("broker closed before this message was sent"))
                    raise
                self.published += len(batch)
                for (_, _, done), receivers in zip(batch, results):
                    if not done.done():
                        done.set_result(receivers)
        finally:
            self._sending = False
            self._sender = None

    # -- subscriptions -----------------------------------------------------------------

    async def _channel_added(self, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None and self.connected:
            try:
                await pubsub.subscribe(channel)
            except (_RedisConnectionError, _RedisTimeoutError, OSError):
                # The reader notices the failure, reconnects and subscribes to every
                # channel then, this one included.
                pass

    async def _channel_removed(self, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None and self.connected:
            try:
                await pubsub.unsubscribe(channel)
            except (_RedisConnectionError, _RedisTimeoutError, OSError):
                pass

    # -- the receiving task ------------------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        """The delay before reconnection attempt ``attempt`` (0-based): full jitter."""
        cap = min(self.max_delay, self.initial_delay * self.factor ** min(attempt, 64))
        return self._rng.uniform(0, cap)

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._connect()
                attempt = 0
                await self._receive()
            except asyncio.CancelledError:
                raise
            except (_RedisConnectionError, _RedisTimeoutError, OSError, _Unhealthy) as exc:
                if self._closing:
                    break
                if self.connected:
                    logger.warning("Redis pub/sub connection to %s lost: %s", self.url, exc)
                else:
                    logger.info("cannot connect to Redis at %s: %s", self.url, exc)
            finally:
                self._connected.clear()
            await self._drop_pubsub()
            delay = self.backoff_delay(attempt)
            attempt += 1
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        pubsub = self._pubsub = self._pubsub_client.pubsub()
        # Subscribing opens the connection. With no channel yet, a PING does it (and
        # tells that Redis answers).
        channels = self.channels()
        if channels:
            await pubsub.subscribe(*channels)
        else:
            await pubsub.connect()
            await pubsub.connection.send_command("PING")
            await asyncio.wait_for(pubsub.connection.read_response(), self.health_timeout)
        self.connections_made += 1
        self._connected.set()
        # Channels added while this was connecting (not yet "connected": skipped by
        # _channel_added) are subscribed now; later ones by _channel_added itself.
        missing = [c for c in self.channels() if c not in channels]
        if missing:
            await pubsub.subscribe(*missing)
        if self.connections_made > 1:
            logger.info("Redis pub/sub connection to %s re-established", self.url)

    async def _receive(self) -> None:
        pubsub = self._pubsub
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        pinged_at = None
        deliver = self._deliver_packed
        while True:
            if not pubsub.subscribed:
                # Nothing to read until a channel is added: just check the link.
                await asyncio.sleep(min(self.health_interval, 0.5))
                if loop.time() - last_heard >= self.health_interval:
                    await asyncio.wait_for(pubsub.ping(), self.health_timeout)
                    last_heard = loop.time()
                continue
            message = await pubsub.get_message(timeout=self.health_interval)
            now = loop.time()
            if message is not None:
                last_heard = now
                pinged_at = None
                if message["type"] == "message":
                    deliver(_text(message["channel"]), message["data"])
                continue
            if pinged_at is not None and now - pinged_at >= self.health_timeout:
                raise _Unhealthy("no answer to a ping within %s s" % self.health_timeout)
            if pinged_at is None and now - last_heard >= self.health_interval:
                await pubsub.ping()
                pinged_at = now

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await _aclose(pubsub)
            except Exception:  # a broken connection may fail to close: it is gone anyway
                pass


class _Unhealthy(Exception):
    pass


def _text(channel: Any) -> str:
    return channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel


async def _aclose(obj: Any) -> None:
    close = getattr(obj, "aclose", None) or obj.close  # redis < 5.0.1 has close() only
    await close()
