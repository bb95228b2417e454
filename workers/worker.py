"""The Temporal worker: the order workflow and every activity, wired to real services."""

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.events import EventActivities, Publisher
from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from activities.payments import PaymentActivities
from activities.publisher import EventPublisher
from activities.risk import RiskActivities
from adapters.rabbitmq import BrokerMismatch
from services.inventory import DEFAULT_CATALOGUE, InventoryService
from services.orders import OrderService
from services.payment import PaymentFaults, PaymentService
from services.risk import RiskService
from workers.runtime.arguments import ArgumentCountingRunner
from workers.runtime.log_context import ActivityLogContext
from workers.runtime.metrics import temporal_runtime
from workers.runtime.private_files import private_dir, tighten_files
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal
from workers.runtime.tls import amqp_ssl_context
from workflows.order_undo import ORDER_WORKFLOWS

log = structlog.get_logger(__name__)


def open_services(settings: Settings) -> tuple[OrderService, InventoryService, PaymentService]:
    faults = PaymentFaults(
        failure_rate=settings.payment_failure_rate,
        latency_ms=settings.payment_latency_ms,
        response_latency_ms=settings.payment_response_latency_ms,
    )
    tighten_files(private_dir(settings.data_dir))  # customer data: this user's only
    return (
        OrderService(settings.orders_db),
        InventoryService(settings.inventory_db, DEFAULT_CATALOGUE),  # adds missing SKUs only
        PaymentService(settings.payments_db, faults),
    )


def order_activities(
    orders: OrderService,
    inventory: InventoryService,
    payments: PaymentService,
    publisher: Publisher,
) -> list[Callable[..., Any]]:
    order, stock, payment = (
        OrderActivities(orders),
        InventoryActivities(inventory),
        PaymentActivities(payments),
    )
    return [
        order.create_order,
        order.confirm_order,
        order.cancel_order,
        stock.reserve_stock,
        stock.release_stock,
        payment.charge_payment,
        payment.refund_payment,
        RiskActivities(RiskService()).assess_risk,
        EventActivities(publisher).publish_event,
    ]


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """A worker polling the order task queue until the block exits (then shut down cleanly)."""
    publisher = EventPublisher(
        settings.amqp_url,
        settings.exchange,
        settings.publish_timeout_seconds,
        ssl_context=amqp_ssl_context(settings),
    )
    with ThreadPoolExecutor(settings.activity_threads, "podium-activity") as threads:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=ORDER_WORKFLOWS,
            activities=order_activities(*open_services(settings), publisher),
            activity_executor=threads,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            graceful_shutdown_timeout=timedelta(seconds=10),
            interceptors=[ActivityLogContext()],
            workflow_runner=ArgumentCountingRunner(),
        )
        declaring = asyncio.create_task(declare_at_start(publisher))
        try:
            async with worker:
                yield worker
        finally:
            declaring.cancel()
            with suppress(asyncio.CancelledError):
                await declaring
            await publisher.close()


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


async def serve(settings: Settings) -> None:
    """Run a worker until SIGINT or SIGTERM; in-flight activities get time to finish."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    async with running_worker(client, settings):
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            temporal=settings.temporal_address,
            metrics_port=settings.metrics_port or None,
        )
        await stop.wait()
        log.info("worker stopping")
    log.info("worker stopped")
