"""The consumers' own handlers and stores, applied from activities instead of from a queue."""

import asyncio
from functools import partial

from bench.effect_activities import Effect, EffectActivities
from consumers import analytics, loyalty, notifications
from consumers.runtime.definition import Consumer
from consumers.runtime.store import Store
from contracts.events import OrderEvent
from workers.bootstrap import consumer_stores, registered
from workers.runtime.settings import Settings


def applied_in_store(consumer: Consumer, store: Store) -> Effect:
    """What the consumer runtime does with a delivered event, minus the broker: the handler
    and the processed marker in one transaction, then the after-commit step (the email)."""

    async def apply(event: OrderEvent) -> bool:
        if consumer.understands(event.type, event.version) is None:
            return False
        applied = await asyncio.to_thread(
            store.apply, event.event_id, event.ROUTING_KEY, partial(consumer.handle, event)
        )
        if consumer.after_commit is not None:
            await consumer.after_commit(event, store)
        return applied

    return apply


async def effect_activities(settings: Settings) -> EffectActivities:
    consumers = {c.name: c for c in registered(settings)}
    stores = await consumer_stores(settings)

    def effect(name: str) -> Effect:
        return applied_in_store(consumers[name], stores[name])

    return EffectActivities(
        effect(notifications.NAME), effect(analytics.NAME), effect(loyalty.NAME)
    )
