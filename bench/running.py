"""The three Temporal workers of the comparison and the consumers, all in this process."""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from temporalio.client import Client

from activities.publisher import EventPublisher
from bench.all_orchestrated import AllOrchestratedOrderWorkflow
from bench.baseline import BareShapeWorkflow
from bench.direct_effects import effect_activities
from bench.environment import BenchEnv
from bench.noop import noop
from consumers import analytics
from consumers.runtime.definition import Consumer
from workers.bootstrap import (
    declare_consumer_topology,
    registered,
    running_consumers,
    running_worker,
    temporal_worker,
)


@dataclass
class EventTimes:
    """When each event occurred (`occurred_at`, stamped by the workflow), seen by a consumer."""

    occurred: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, consumer: Consumer) -> Consumer:
        """The same consumer, noting each event's `occurred_at` before its handler runs."""

        def handle(event: Any, tx: Any) -> None:
            with self.lock:
                self.occurred.setdefault(event.event_id, event.occurred_at)
            consumer.handle(event, tx)

        return replace(consumer, handle=handle)


@dataclass(frozen=True)
class Queues:
    podium: str
    bare: str
    orchestrated: str


@asynccontextmanager
async def running_everything(
    client: Client, env: BenchEnv, times: EventTimes
) -> AsyncIterator[Queues]:
    hybrid, orchestrated = env.hybrid, env.orchestrated
    queues = Queues(hybrid.task_queue, f"{hybrid.task_queue}-bare", orchestrated.task_queue)
    await declare_consumer_topology(hybrid)
    consumers = [times.observe(c) if c.name == analytics.NAME else c for c in registered(hybrid)]
    effects = await effect_activities(orchestrated)
    # Never used: the all-orchestrated workflow applies its effects instead of publishing.
    idle_publisher = EventPublisher(
        orchestrated.amqp_url, orchestrated.exchange, orchestrated.publish_timeout_seconds
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running_worker(client, hybrid))
        await stack.enter_async_context(running_consumers(hybrid, consumers=consumers))
        # The bare engine, sized like the order worker, so both run under the same limits.
        await stack.enter_async_context(
            temporal_worker(client, hybrid, queues.bare, [BareShapeWorkflow], [noop])
        )
        await stack.enter_async_context(
            running_worker(
                client,
                orchestrated,
                publisher=idle_publisher,
                workflows=[AllOrchestratedOrderWorkflow],
                extra_activities=[
                    effects.notify_customer,
                    effects.record_analytics,
                    effects.credit_loyalty,
                ],
            )
        )
        yield queues
    await asyncio.shield(idle_publisher.close())
