from typing import Protocol

from temporalio import activity

from contracts.events import OrderEvent
from contracts.steps import Published, PublishEvent


class Publisher(Protocol):
    """What the activity needs of a publisher: the broker's confirm, or an exception."""

    async def publish(self, event: OrderEvent) -> None: ...


class EventActivities:
    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    @activity.defn(name="publish_event")
    async def publish_event(self, command: PublishEvent) -> Published:
        """Publish the order's outcome event; completes only once the broker confirmed it."""
        event = command.event
        await self._publisher.publish(event)
        return Published(event_id=event.event_id, routing_key=event.ROUTING_KEY)
