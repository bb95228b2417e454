"""Our code around aio-pika: the one way to connect, declare the event exchange and publish.

The broker refuses (PRECONDITION_FAILED) a declaration whose arguments differ from those of the
existing entity, so everyone declaring the event exchange does it here, with the arguments of
`contracts.broker`.
"""

import ssl
from contextlib import suppress

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import ChannelPreconditionFailed

from contracts.broker import KEPT_QUEUE_ARGUMENTS, exchange_arguments, unrouted_name


class BrokerMismatch(Exception):
    """An entity exists on the broker with other arguments than this version of Podium's."""


def mismatch_hint(kind: str, name: str) -> str:
    return (
        f"the broker's {kind} '{name}' was declared by an older Podium with other arguments; "
        "run `podium broker migrate` to declare it again without losing a message"
    )


async def connect(
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


async def declare_event_exchange(channel: AbstractChannel, exchange: str) -> AbstractExchange:
    """Declare `exchange` (topic) with its alternate exchange and queue; idempotent.

    The alternate exchange keeps every event no queue is bound for: publishing never waits on
    consumers being deployed, and never drops an event.
    """
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


async def publish(
    exchange: AbstractExchange,
    message: aio_pika.Message,
    routing_key: str,
    confirm_timeout: float,
) -> None:
    """Publish mandatory on a confirming channel and wait for the broker's confirm.

    Raises TimeoutError after `confirm_timeout` seconds, DeliveryError when the broker nacks it,
    PublishError when no queue takes it, ChannelInvalidStateError while the channel is down.
    """
    # aio-pika hands the timeout to aiormq, which bounds the write and the confirm inside this
    # task: a wait_for runs the publish in a task of its own (Python 3.11), whose cancel can
    # land after the frame is queued and leave the channel's confirm bookkeeping out of step.
    # A robust channel whose connection is down reads as closed, so the publish fails at once
    # rather than waiting, unbounded, for the reconnect.
    await exchange.publish(
        message, routing_key=routing_key, mandatory=True, timeout=confirm_timeout
    )
