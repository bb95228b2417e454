"""Entry points for the side-effect consumers, each taking the settings object.

`run_consumers` is the long-running process; the others are small tools and reports.
"""

import asyncio
from contextlib import ExitStack
from dataclasses import dataclass

import structlog

from consumers import analytics, dlq, loyalty, migrate, notifications, status
from consumers.metrics import metrics_endpoint
from consumers.registry import select
from consumers.runner import run_until_signalled
from workers.bootstrap import consumer_stores, registered, runtime_options
from workers.runtime.settings import Settings

log = structlog.get_logger(__name__)


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
    store = (await consumer_stores(settings, [analytics.NAME]))[analytics.NAME]
    return await asyncio.to_thread(analytics.report, store)


async def loyalty_points(settings: Settings, customer_id: str) -> int:
    store = (await consumer_stores(settings, [loyalty.NAME]))[loyalty.NAME]
    return await asyncio.to_thread(loyalty.points, store, customer_id)


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
    stores = await consumer_stores(settings, [notifications.NAME, loyalty.NAME])
    orders, points = await asyncio.to_thread(loyalty.credits_total, stores[loyalty.NAME])
    return SideEffects(
        emails=await asyncio.to_thread(notifications.outbox, stores[notifications.NAME]),
        loyalty_orders=orders,
        loyalty_points=points,
        analytics=await analytics_report(settings),
    )
