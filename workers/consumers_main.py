"""Entry points for the side-effect consumers, each taking the settings object.

`run_consumers` is the long-running process; the others are small tools and reports.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass

import structlog

from consumers import analytics, loyalty, notifications
from consumers.mailer import MailOptions
from consumers.registry import all_consumers, select
from consumers.runtime import dlq, migrate, status
from consumers.runtime.breaker import BreakerOptions
from consumers.runtime.definition import Consumer
from consumers.runtime.metrics import metrics_endpoint
from consumers.runtime.options import RuntimeOptions, TopologyOptions
from consumers.runtime.runner import ConsumerRunner, declare, run_until_signalled, running
from consumers.runtime.store import Store
from workers.runtime.private_files import private_dir, tighten_files
from workers.runtime.settings import Settings
from workers.runtime.tls import amqp_ssl_context

log = structlog.get_logger(__name__)


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
        breaker=BreakerOptions(
            threshold=settings.consumer_breaker_threshold,
            pause=settings.consumer_breaker_pause_seconds,
            max_pause=max(
                settings.consumer_breaker_max_pause_seconds, settings.consumer_breaker_pause_seconds
            ),
        ),
    )


def mail_options(settings: Settings) -> MailOptions:
    return MailOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        timeout=settings.smtp_timeout_seconds,
    )


def registered(settings: Settings, names: list[str] | None = None) -> list[Consumer]:
    return select(all_consumers(mail_options(settings)), names)


async def run_consumers(settings: Settings, names: list[str] | None = None) -> None:
    """Run the named consumers (all when None) until SIGINT or SIGTERM, serving their metrics
    on `consumer_metrics_port` unless it is 0."""
    with ExitStack() as stack:
        if settings.consumer_metrics_port:
            try:
                stack.enter_context(
                    metrics_endpoint(settings.metrics_host, settings.consumer_metrics_port)
                )
            except OSError as err:  # taken, most often by another consumer process here
                log.warning(
                    "consumer metrics disabled: cannot serve them",
                    port=settings.consumer_metrics_port,
                    reason=err.strerror or str(err),
                    hint="give each process its own PODIUM_CONSUMER_METRICS_PORT (0: off)",
                )
        await run_until_signalled(registered(settings, names), runtime_options(settings))


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


async def migrate_broker(settings: Settings) -> migrate.Migration:
    """Declare today's topology over one an older Podium declared, keeping every message."""
    return await migrate.migrate(runtime_options(settings), registered(settings))


def _dead_letter_source(settings: Settings, name: str) -> str:
    """A consumer's name, or `unrouted`; ValueError for anything else."""
    if name != dlq.UNROUTED:
        try:
            select(registered(settings), [name])
        except ValueError as err:
            raise ValueError(f"{err}, or {dlq.UNROUTED}") from err
    return name


async def dlq_list(settings: Settings, name: str) -> list[dlq.DeadLetterInfo]:
    source = _dead_letter_source(settings, name)
    return await dlq.list_dead_letters(runtime_options(settings), source)


async def dlq_replay(settings: Settings, name: str, ids: list[str] | None = None) -> int:
    source = _dead_letter_source(settings, name)
    return await dlq.replay(runtime_options(settings), source, ids)


async def dlq_discard(
    settings: Settings, name: str, ids: list[str] | None
) -> list[dlq.DeadLetterInfo]:
    source = _dead_letter_source(settings, name)
    return await dlq.discard(runtime_options(settings), source, ids)


async def consumers_status(
    settings: Settings, names: list[str] | None = None
) -> list[status.ConsumerStatus]:
    chosen = [c.name for c in registered(settings, names)]
    return await status.consumer_statuses(runtime_options(settings), chosen)


async def analytics_report(settings: Settings) -> analytics.AnalyticsReport:
    return await asyncio.to_thread(analytics.report, _store(settings, analytics.CONSUMER))


async def loyalty_points(settings: Settings, customer_id: str) -> int:
    return await asyncio.to_thread(loyalty.points, _store(settings, loyalty.CONSUMER), customer_id)


@dataclass(frozen=True)
class SideEffects:
    emails: list[notifications.OutboxEmail]
    loyalty_orders: int
    loyalty_points: int
    analytics: analytics.AnalyticsReport

    def describe(self) -> str:
        sent = [e for e in self.emails if e.sent_at]
        lines = [f"notifications: {len(sent)} sent, {len(self.emails) - len(sent)} pending"]
        lines += [f"  -> {e.recipient}: {e.subject}" for e in self.emails]
        lines.append(
            f"loyalty: {self.loyalty_points} points credited over {self.loyalty_orders} orders"
        )
        outcomes = ", ".join(f"{k} {v}" for k, v in self.analytics.outcomes.items()) or "none"
        lines.append(f"analytics: orders by outcome: {outcomes}")
        lines += [
            f"  {r.hour} {r.sku}: {r.units} units, {r.revenue} {r.currency}"
            for r in self.analytics.sku_hours
        ]
        return "\n".join(lines)


async def side_effects(settings: Settings) -> SideEffects:
    """What each consumer has done so far, read from the consumers' own databases."""
    mail_store = _store(settings, registered(settings, [notifications.NAME])[0])
    loyalty_store = _store(settings, loyalty.CONSUMER)
    orders, points = await asyncio.to_thread(loyalty.credits_total, loyalty_store)
    return SideEffects(
        emails=await asyncio.to_thread(notifications.outbox, mail_store),
        loyalty_orders=orders,
        loyalty_points=points,
        analytics=await analytics_report(settings),
    )


def _store(settings: Settings, consumer: Consumer) -> Store:
    return Store(runtime_options(settings).store_path(consumer.name), consumer.schema)
