from temporalio import activity

from activities.publisher import EventPublisher
from contracts.steps import Published, PublishEvent


class EventActivities:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    @activity.defn(name="publish_event")
    async def publish_event(self, command: PublishEvent) -> Published:
        """Publish the order's outcome event; completes only once the broker confirmed it."""
        event = command.event
        await self._publisher.publish(event)
        return Published(event_id=event.event_id, routing_key=event.ROUTING_KEY)
