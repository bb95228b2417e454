"""The one place that assembles Podium: services, activities, the Temporal worker, the consumer
runner and the consumers' stores. The command line, the demo, the benchmark and the tests take
them from here; a test or the bench hands in what it replaces instead of assembling again.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import structlog
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from activities.events import EventActivities, Publisher
from activities.publisher import EventPublisher
from activities.steps import InventoryActivities, OrderActivities, PaymentActivities, RiskActivities
from adapters.rabbitmq import BrokerMismatch
from adapters.storage import Location, PostgresSchema
from consumers.mailer import MailOptions
from consumers.registry import all_consumers, select
from consumers.runtime.breaker import BreakerOptions
from consumers.runtime.definition import Consumer
from consumers.runtime.options import RuntimeOptions, TopologyOptions
from consumers.runtime.runner import ConsumerRunner, declare, running
from consumers.runtime.store import Store
from services.inventory import DEFAULT_CATALOGUE, InventoryService
from services.orders import OrderService
from services.payment import PaymentFaults, PaymentService
from services.risk import RiskService
from workers.runtime.arguments import ArgumentCountingRunner
from workers.runtime.log_context import ActivityLogContext
from workers.runtime.private_files import private_dir, tighten_files
from workers.runtime.sandbox import workflow_runner
from workers.runtime.settings import Settings
from workers.runtime.tls import amqp_ssl_context
from workflows.order_undo import ORDER_WORKFLOWS

log = structlog.get_logger(__name__)
Activity = Callable[..., Any]


# Services and activities --------------------------------------------------------------------


class Services(NamedTuple):
    orders: OrderService
    inventory: InventoryService
    payments: PaymentService

    def close(self) -> None:
        """Close their databases (blocking)."""
        for service in self:
            service.close()


def service_location(settings: Settings, service: str) -> Location:
    """Where `service` (orders, inventory, payments) keeps its data: its schema in PostgreSQL
    when a URL is set for it, else its SQLite file under the data folder."""
    url = getattr(settings, f"{service}_database_url") or settings.database_url
    if url is None:
        return Path(getattr(settings, f"{service}_db"))
    return PostgresSchema(url.get_secret_value(), settings.database_schema_prefix + service)


def open_services(settings: Settings, *, injected_faults: bool = True) -> Services:
    """The services on their databases (blocking: call it in a thread from a loop).

    `injected_faults`: the gateway trouble the settings ask for (demos, bench, fault tests);
    an operator's own refunds (`podium reconcile`) go without it.
    """
    faults = PaymentFaults()
    if injected_faults:
        faults = PaymentFaults(
            failure_rate=settings.payment_failure_rate,
            latency_ms=settings.payment_latency_ms,
            response_latency_ms=settings.payment_response_latency_ms,
        )
    tighten_files(private_dir(settings.data_dir))  # customer data: this user's only
    return Services(
        OrderService(service_location(settings, "orders")),
        # Adds missing SKUs only.
        InventoryService(service_location(settings, "inventory"), DEFAULT_CATALOGUE),
        PaymentService(service_location(settings, "payments"), faults),
    )


def order_activities(
    services: Services, publisher: Publisher, settings: Settings
) -> list[Activity]:
    order = OrderActivities(services.orders)
    stock = InventoryActivities(services.inventory)
    payment = PaymentActivities(services.payments)
    return [
        order.create_order,
        order.confirm_order,
        order.cancel_order,
        order.cancel_unless_confirmed,
        stock.reserve_stock,
        stock.release_stock,
        payment.charge_payment,
        payment.refund_payment,
        RiskActivities(RiskService(settings.review_above, settings.review_timeout)).assess_risk,
        EventActivities(publisher).publish_event,
    ]


def event_publisher(settings: Settings) -> EventPublisher:
    return EventPublisher(
        settings.amqp_url,
        settings.exchange,
        settings.publish_timeout_seconds,
        ssl_context=amqp_ssl_context(settings),
    )


# The Temporal worker ------------------------------------------------------------------------


def temporal_worker(
    client: Client,
    settings: Settings,
    task_queue: str,
    workflows: Sequence[type],
    activities: Sequence[Activity],
    threads: ThreadPoolExecutor | None = None,
    **options: Any,
) -> Worker:
    """A worker sized, intercepted and sandboxed as production's (`settings.workflow_sandbox`);
    `options` are further `Worker` arguments (a test's worker without a workflow cache)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        activity_executor=threads,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=10),
        interceptors=[ActivityLogContext()],
        workflow_runner=ArgumentCountingRunner(workflow_runner(settings.workflow_sandbox)),
        **options,
    )


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    *,
    services: Services | None = None,
    publisher: Publisher | None = None,
    replacements: Sequence[Activity] = (),
    workflows: Sequence[type] = ORDER_WORKFLOWS,
    extra_activities: Sequence[Activity] = (),
    task_queue: str | None = None,
) -> AsyncIterator[Worker]:
    """The order worker polling until the block exits (then shut down cleanly).

    Defaults are production's. `services` and `publisher` replace the real ones (handed in,
    neither is closed here, nor is the publisher declared); `replacements` stand in for the
    activities of the same name; `workflows` and `extra_activities` serve another workflow
    (the bench's).
    """
    own = None
    if publisher is None:
        own = publisher = event_publisher(settings)
    own_services = services is None
    if services is None:
        services = await asyncio.to_thread(open_services, settings)
    activities = {_name(fn): fn for fn in order_activities(services, publisher, settings)}
    activities.update({_name(fn): fn for fn in [*replacements, *extra_activities]})
    with ThreadPoolExecutor(settings.activity_threads, "podium-activity") as threads:
        worker = temporal_worker(
            client,
            settings,
            task_queue or settings.task_queue,
            workflows,
            list(activities.values()),
            threads,
        )
        declaring = asyncio.create_task(declare_at_start(own)) if own else None
        try:
            async with worker:
                yield worker
        finally:
            if declaring:
                declaring.cancel()
                with suppress(asyncio.CancelledError):
                    await declaring
            if own:
                await own.close()
            if own_services:  # an activity still running finds its database closed
                await asyncio.to_thread(services.close)


async def declare_at_start(publisher: EventPublisher) -> None:
    """Declare the event exchange (and where unrouted events go) as soon as the worker starts.

    The worker still starts while the broker is down: the first publish declares it then.
    """
    try:
        await publisher.connect()
    except BrokerMismatch as err:
        log.error("event exchange refused", error=str(err))
    except Exception as err:
        log.warning("broker not reachable at start; publishing connects later", error=str(err))


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _name(fn: Activity) -> str:
    return str(fn.__temporal_activity_definition.name)  # type: ignore[attr-defined]


# Consumers ----------------------------------------------------------------------------------


def runtime_options(settings: Settings) -> RuntimeOptions:
    tighten_files(private_dir(settings.data_dir))  # customer data: this user's only
    return RuntimeOptions(
        amqp_url=settings.amqp_url,
        data_dir=settings.data_dir,
        topology=TopologyOptions(
            exchange=settings.exchange,
            queue_prefix=settings.consumer_queue_prefix,
            retry_delays_ms=tuple(settings.consumer_retry_delays_ms),
            delivery_limit=settings.consumer_delivery_limit,
        ),
        prefetch=settings.consumer_prefetch,
        concurrency=settings.consumer_concurrency,
        publish_timeout=settings.publish_timeout_seconds,
        shutdown_timeout=settings.consumer_shutdown_timeout_seconds,
        reconnect_interval=settings.consumer_reconnect_interval_seconds,
        ssl_context=amqp_ssl_context(settings),
        max_body_bytes=settings.consumer_max_body_bytes,
        handler_timeout=settings.consumer_handler_timeout_seconds,
        database_url=_secret(settings.database_url),
        database_schema_prefix=settings.database_schema_prefix,
        breaker=BreakerOptions(
            threshold=settings.consumer_breaker_threshold,
            pause=settings.consumer_breaker_pause_seconds,
            max_pause=max(
                settings.consumer_breaker_max_pause_seconds, settings.consumer_breaker_pause_seconds
            ),
        ),
    )


def registered(settings: Settings, names: list[str] | None = None) -> list[Consumer]:
    """The registered consumers (those named, when names are given; ValueError for others)."""
    mail = MailOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        timeout=settings.smtp_timeout_seconds,
    )
    return select(all_consumers(mail), names)


@asynccontextmanager
async def running_consumers(
    settings: Settings,
    names: list[str] | None = None,
    consumers: list[Consumer] | None = None,
) -> AsyncIterator[ConsumerRunner]:
    """Consumers running in this event loop (the registered ones, or `consumers`)."""
    chosen = consumers if consumers is not None else registered(settings, names)
    async with running(chosen, runtime_options(settings)) as runner:
        yield runner


async def declare_consumer_topology(settings: Settings) -> None:
    """Make events routable to every consumer's queue, even before any consumer runs."""
    await declare(runtime_options(settings), registered(settings))


def consumer_store(settings: Settings, consumer: Consumer) -> Store:
    """A consumer's own database (blocking: `consumer_stores` opens them from a loop)."""
    return Store(runtime_options(settings).store_location(consumer.name), consumer.schema)


async def consumer_stores(settings: Settings, names: list[str] | None = None) -> dict[str, Store]:
    """The registered consumers' databases by name, opened off the event loop."""
    chosen = registered(settings, names)
    return await asyncio.to_thread(lambda: {c.name: consumer_store(settings, c) for c in chosen})
