"""Our code around aio-pika: the one way to connect, declare the event exchange and publish.

Connections fail over along a cluster's addresses (PODIUM_AMQP_URL holding several, see
`adapters.amqp_urls`): aio-pika's robust connection only ever reconnects to the URL it was given.

The broker refuses (PRECONDITION_FAILED) a declaration whose arguments differ from those of the
existing entity, so everyone declaring the event exchange does it here, with the arguments of
`contracts.broker`.
"""

import logging
import ssl
from contextlib import suppress
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelPreconditionFailed
from yarl import URL

from adapters.amqp_urls import amqp_urls
from contracts.broker import KEPT_QUEUE_ARGUMENTS, exchange_arguments, unrouted_name

log = logging.getLogger(__name__)


class BrokerMismatch(Exception):
    """An entity exists on the broker with other arguments than this version of Podium's."""


def mismatch_hint(kind: str, name: str) -> str:
    return (
        f"the broker's {kind} '{name}' was declared by an older Podium with other arguments; "
        "run `podium broker migrate` to declare it again without losing a message"
    )


class FailoverConnection(aio_pika.RobustConnection):
    """A robust connection that tries each of a cluster's addresses in turn.

    Every transport attempt of aio-pika's reconnect loop (and the first connect) tries the
    addresses one after another, starting after the one used last, until one connects; each try
    is bounded by the connect timeout. Only when every address failed does the loop wait its
    `reconnect_interval` and start again. With one address it behaves as RobustConnection.
    """

    def __init__(self, urls: list[URL], **kwargs: Any) -> None:
        # Connection options in a URL's query (heartbeat, ...) are read from the first one.
        super().__init__(urls[0], **kwargs)
        self.urls = urls
        self._next = 0

    def next_url(self) -> URL:
        """The address to try next; the one after it follows."""
        url = self.urls[self._next]
        self._next = (self._next + 1) % len(self.urls)
        return url

    # aio-pika 10's reconnect loop (RobustConnection.__connection_factory) opens the transport
    # through this name-mangled method, which reads `self.url`; overridden by its mangled name.
    async def _RobustConnection__connect_transport(self) -> None:
        for attempt in range(1, len(self.urls) + 1):
            self.url = self.next_url()
            try:
                await super()._RobustConnection__connect_transport()  # type: ignore[misc]
                return
            except CONNECTION_EXCEPTIONS as err:
                if attempt == len(self.urls):
                    raise
                # str(self) shows the URL with its password masked.
                log.warning("cannot connect to %s (%s); trying the next address", self, err)


async def connect(
    url: str,
    *,
    name: str,
    connect_timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    reconnect_interval: float = 5.0,
) -> AbstractRobustConnection:
    """aio-pika's robust connection, closed again if connecting fails or is cancelled.

    `url` is one broker URL or several separated by commas: FailoverConnection.

    Its reconnects run in a task of its own that swallows a cancel until the connection is
    closed: one cancelled while connecting (a worker stopping, an activity cancelled) would
    otherwise keep reconnecting unseen and keep the process from ever exiting.
    """
    connection = FailoverConnection(
        [make_url(one) for one in amqp_urls(url)],
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
