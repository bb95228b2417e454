"""A consumer is data: a name, the event versions it understands and a handler.

The handler is a plain function run in a worker thread inside a transaction of the
consumer's own store (SQLite, or PostgreSQL: adapters/sql.py); the runtime records the event
as processed in that same transaction, so an effect and its processed marker commit together
or not at all.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from adapters.sql import Transaction
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1, OrderFailedV1

EventType = type[OrderCompletedV1] | type[OrderFailedV1]
KNOWN_EVENTS: tuple[EventType, ...] = (OrderCompletedV1, OrderFailedV1)
Handler = Callable[[Any, Transaction], None]
"""Called with an instance of one of the consumer's event types and the open transaction."""
AfterCommit = Callable[[Any, Store], Awaitable[None]]
"""Called after the commit, before the ack, also for redeliveries of a processed event."""
Close = Callable[[], None]
"""Called once when the consumer stops, in a thread: releases what the handlers kept open."""


@dataclass(frozen=True)
class Consumer:
    name: str
    events: tuple[EventType, ...]
    handle: Handler
    # Its store's tables: one script, or its versions in order once it has changed since a
    # release (a released version never changes; a new one is appended).
    schema: str | tuple[str, ...] = ""
    after_commit: AfterCommit | None = None
    close: Close | None = None

    def understands(self, event_type: object, version: object) -> EventType | None:
        return event_class(self.events, event_type, version)


def event_class(
    events: Iterable[EventType], event_type: object, version: object
) -> EventType | None:
    """The class among `events` of this type and version, if there is one."""
    for cls in events:
        if cls.model_fields["type"].default == event_type and (
            cls.model_fields["version"].default == version
        ):
            return cls
    return None
