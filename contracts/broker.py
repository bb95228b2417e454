"""Names and arguments of the broker entities both halves share (pure data, no client code).

The broker refuses a declaration whose arguments differ from those of the existing entity, so
the publisher, the consumers' topology and the exported definitions all take them from here
(declared by `adapters.rabbitmq`). The event exchange's alternate exchange keeps every event no
queue is bound for.
"""

from typing import Any

# Quorum queues count deliveries: RabbitMQ 4.x drops a message after 20 by default, and 3.x
# reads -1 ("no limit" on 4.x) as "drop on the first return". A limit no one reaches is the
# value both versions read as "keep it".
NO_DELIVERY_LIMIT = 2**31 - 1
KEPT_QUEUE_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-delivery-limit": NO_DELIVERY_LIMIT,
}


def unrouted_name(exchange: str) -> str:
    """The alternate exchange of `exchange` and the queue keeping its unrouted events."""
    return f"{exchange}.unrouted"


def exchange_arguments(exchange: str) -> dict[str, Any]:
    return {"alternate-exchange": unrouted_name(exchange)}
