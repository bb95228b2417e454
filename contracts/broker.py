"""The order events' exchange, declared identically by everyone who declares it.

The broker refuses (PRECONDITION_FAILED) a declaration whose arguments differ from those of the
existing exchange, so the publisher, the consumers' topology and the exported definitions all
take the exchange from here. Its alternate exchange keeps every event no queue is bound for:
publishing never waits on consumers being deployed, and never drops an event.
"""

import ssl
from contextlib import suppress
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import ChannelPreconditionFailed

# Quorum queues count deliveries: RabbitMQ 4.x drops a message after 20 by default, and 3.x
# reads -1 ("no limit" on 4.x) as "drop on the first return". A limit no one reaches is the
# value both versions read as "keep it".
NO_DELIVERY_LIMIT = 2**31 - 1
KEPT_QUEUE_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-delivery-limit": NO_DELIVERY_LIMIT,
}


class BrokerMismatch(Exception):
    """An entity exists on the broker with other arguments than this version of Podium's."""


def unrouted_name(exchange: str) -> str:
    """The alternate exchange of `exchange` and the queue keeping its unrouted events."""
    return f"{exchange}.unrouted"


def exchange_arguments(exchange: str) -> dict[str, Any]:
    return {"alternate-exchange": unrouted_name(exchange)}


async def declare_event_exchange(channel: AbstractChannel, exchange: str) -> AbstractExchange:
    """Declare `exchange` (topic) with its alternate exchange and queue; idempotent."""
    unrouted = unrouted_name(exchange)
    fanout = await channel.declare_exchange(unrouted, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(unrouted, durable=True, arguments=KEPT_QUEUE_ARGUMENTS)
    await queue.bind(fanout, routing_key="")
    try:
        return await channel.declare_exchange(
            exchange,
            aio_pika.ExchangeType.TOPIC,
            durable=True,
            arguments=exchange_arguments(exchange),
        )
    except ChannelPreconditionFailed as err:
        raise BrokerMismatch(mismatch_hint("exchange", exchange)) from err


def mismatch_hint(kind: str, name: str) -> str:
    return (
        f"the broker's {kind} '{name}' was declared by an older Podium with other arguments; "
        "run `podium broker migrate` to declare it again without losing a message"
    )


async def connect_robust(
    url: str,
    *,
    name: str,
    connect_timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    reconnect_interval: float = 5.0,
) -> AbstractRobustConnection:
    """aio-pika's robust connection, closed again if connecting fails or is cancelled.

    Its reconnects run in a task of its own that swallows a cancel until the connection is
    closed: one cancelled while connecting (a worker stopping, an activity cancelled) would
    otherwise keep reconnecting unseen and keep the process from ever exiting.
    """
    connection = aio_pika.RobustConnection(
        make_url(url),
        ssl_context=ssl_context,
        client_properties={"connection_name": name},
        reconnect_interval=reconnect_interval,
    )
    try:
        await connection.connect(timeout=connect_timeout)
    except BaseException:
        with suppress(Exception):
            await connection.close()
        raise
    return connection
