"""The three side effects as activities, for the all-orchestrated variant the benchmark compares
with the hybrid design (bench/all_orchestrated.py). Not used by the production worker.

Each activity applies one consumer's effect to the event the workflow would have published.
The effects come in as callables (built by the caller from the consumers' own handlers and
stores), so this module stays free of the consumer runtime, as an activity module should.
"""

from collections.abc import Awaitable, Callable

from temporalio import activity

from contracts.events import OrderEvent
from contracts.steps import PublishEvent

Effect = Callable[[OrderEvent], Awaitable[bool]]
"""Applies an effect once per event id; True when applied now, False for a duplicate."""


class EffectActivities:
    def __init__(self, notify: Effect, analytics: Effect, loyalty: Effect) -> None:
        self._notify = notify
        self._analytics = analytics
        self._loyalty = loyalty

    # The input is the publish step's: the event the consumers would have received.
    @activity.defn(name="notify_customer")
    async def notify_customer(self, command: PublishEvent) -> bool:
        """Email the customer the order's outcome (the notifications consumer's effect)."""
        return await self._notify(command.event)

    @activity.defn(name="record_analytics")
    async def record_analytics(self, command: PublishEvent) -> bool:
        """Count the order in the sales read model (the analytics consumer's effect)."""
        return await self._analytics(command.event)

    @activity.defn(name="credit_loyalty")
    async def credit_loyalty(self, command: PublishEvent) -> bool:
        """Credit the customer's loyalty points (the loyalty consumer's effect)."""
        return await self._loyalty(command.event)
