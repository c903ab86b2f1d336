"""Broadcast across processes: the broker interface, and a broker for one process.

A *broker* carries messages published on a named channel to every process subscribed to
that channel; each process hands what arrives to its own local connections with
:func:`wsframe.asyncio.broadcast`. Two brokers share the interface:

- :class:`LocalBroker`: one process, no network (delivery is immediate and synchronous);
- :class:`wsframe.asyncio.redis_broker.RedisBroker`: any number of processes and hosts
  through Redis pub/sub (``pip install wsframe[redis]``).

Usage (the same code runs on either broker)::

    broker = RedisBroker("redis://127.0.0.1:6379")      # or LocalBroker()
    async with broker:
        room = await broker.subscribe("room:lobby")
        room.add(conn)                                  # conn receives what is published
        await broker.publish("room:lobby", "hello")     # every process, every member
        room.discard(conn)

Messages keep their type exactly: a ``str`` arrives as a text message, a bytes-like
object as a binary one, byte for byte. Delivery is *at most once* (see
docs/scaling.md): a message published while a process is cut off from the broker is
not delivered to that process's connections, and is not replayed later.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Union

Message = Union[str, bytes, bytearray, memoryview]

# One byte in front of every message on the wire between processes says its type, so a
# text message and a binary one with the same bytes stay distinct.
TEXT_TAG = 0x01
BINARY_TAG = 0x02


def pack(message: Message) -> bytes:
    """A message as the bytes a broker carries: its type tag, then its payload."""
    if isinstance(message, str):
        return b"\x01" + message.encode("utf-8")
    if isinstance(message, (bytes, bytearray, memoryview)):
        return b"\x02" + bytes(message)
    raise TypeError(
        "a message is a str (text) or a bytes-like object (binary), not %s"
        % type(message).__name__
    )


def unpack(data: bytes) -> tuple[int, memoryview]:
    """(opcode, payload) of what :func:`pack` made; ValueError for anything else.

    The payload is a view of ``data`` (no copy). A text payload is checked to be UTF-8:
    another publisher on the same Redis may not be wsframe.
    """
    from .. import validate_utf8

    if not data:
        raise ValueError("empty broker message: no type tag")
    tag = data[0]
    payload = memoryview(data)[1:]
    if tag == TEXT_TAG:
        if not validate_utf8(payload):
            raise ValueError("broker text message is not valid UTF-8")
        return 0x1, payload
    if tag == BINARY_TAG:
        return 0x2, payload
    raise ValueError("unknown broker message tag 0x%02x (expected 0x01 text or 0x02 binary)" % tag)


class Subscription:
    """The local side of one channel: the connections that receive what is published.

    Returned by :meth:`Broker.subscribe`. ``add``/``discard`` connections at any time
    (a set: adding twice is harmless); ``on_message``, when given, is also called with
    each message (``str`` or ``bytes``) as it arrives. ``close()`` (or ``await
    broker.unsubscribe(sub)``) stops delivery.
    """

    __slots__ = ("channel", "connections", "on_message", "_broker", "__weakref__")

    def __init__(self, broker: Broker, channel: str, on_message: Callable[[Any], Any] | None):
        self.channel = channel
        #: The local connections of the channel (a plain set: iterate, count, test).
        self.connections: set = set()
        self.on_message = on_message
        self._broker = broker

    def add(self, connection: Any) -> None:
        self.connections.add(connection)

    def discard(self, connection: Any) -> None:
        self.connections.discard(connection)

    def __len__(self) -> int:
        return len(self.connections)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.connections)

    def __contains__(self, connection: Any) -> bool:
        return connection in self.connections

    async def close(self) -> None:
        """Stop delivery to this subscription (the broker unsubscribes the channel when
        it was the last one)."""
        await self._broker.unsubscribe(self)

    def __repr__(self) -> str:
        return "<Subscription %r, %d connections>" % (self.channel, len(self.connections))


class Broker:
    """The interface of a broker (see the module docstring). Subclasses implement
    ``publish``, ``_channel_added`` and ``_channel_removed``.

    ``slow_client_policy`` is handed to :func:`wsframe.asyncio.broadcast` for every
    delivery (``None``: broadcast's default, skip a connection above its high-water
    mark and count it).
    """

    def __init__(self, *, slow_client_policy: Any = None) -> None:
        self.slow_client_policy = slow_client_policy
        self._subscriptions: dict[str, list[Subscription]] = {}
        #: Messages delivered to this process (counted once per message, not per
        #: connection) and messages dropped because they could not be decoded.
        self.delivered = 0
        self.dropped = 0

    # -- the interface -----------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> int:
        """Send ``message`` to every subscriber of ``channel``, in every process.

        Returns how many subscribers (processes, for Redis) the broker reached.
        """
        raise NotImplementedError

    async def subscribe(
        self, channel: str, *, on_message: Callable[[Any], Any] | None = None
    ) -> Subscription:
        """A new :class:`Subscription` to ``channel``: add connections to it."""
        _check_channel(channel)
        sub = Subscription(self, channel, on_message)
        subs = self._subscriptions.get(channel)
        if subs is None:
            self._subscriptions[channel] = [sub]
            await self._channel_added(channel)
        else:
            subs.append(sub)
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        subs = self._subscriptions.get(subscription.channel)
        if subs is None or subscription not in subs:
            return
        subs.remove(subscription)
        if not subs:
            del self._subscriptions[subscription.channel]
            await self._channel_removed(subscription.channel)

    def channels(self) -> list[str]:
        """The channels with at least one local subscription."""
        return list(self._subscriptions)

    async def start(self) -> None:
        """Connect (where there is something to connect to)."""

    async def close(self) -> None:
        """Disconnect; subscriptions stay registered but receive nothing more."""

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- for subclasses ----------------------------------------------------------------

    async def _channel_added(self, channel: str) -> None:
        pass

    async def _channel_removed(self, channel: str) -> None:
        pass

    def _deliver_packed(self, channel: str, data: bytes) -> None:
        """Hand a packed message that arrived on ``channel`` to its local subscribers."""
        subs = self._subscriptions.get(channel)
        if not subs:
            return
        try:
            opcode, payload = unpack(data)
        except ValueError:
            self.dropped += 1
            return
        self._deliver(subs, opcode, payload)

    def _deliver(self, subs: Iterable[Subscription], opcode: int, payload: Any) -> None:
        self.delivered += 1
        message = None
        for sub in list(subs):
            if sub.connections:
                from .broadcast import broadcast_payload

                broadcast_payload(sub.connections, opcode, payload, self.slow_client_policy)
            if sub.on_message is not None:
                if message is None:
                    raw = bytes(payload)
                    message = raw.decode("utf-8") if opcode == 0x1 else raw
                sub.on_message(message)


class LocalBroker(Broker):
    """A broker for one process: ``publish`` delivers at once to the local subscribers
    (in call order, synchronously). The same interface as the Redis broker, so an
    application can start on one process and move to several without other changes."""

    async def publish(self, channel: str, message: Message) -> int:
        _check_channel(channel)
        data = pack(message)
        subs = self._subscriptions.get(channel)
        if not subs:
            return 0
        self._deliver(subs, data[0], memoryview(data)[1:])
        return 1


def _check_channel(channel: Any) -> None:
    if not isinstance(channel, str) or not channel:
        raise TypeError("channel must be a non-empty str, not %r" % (channel,))
