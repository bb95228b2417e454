"""Versioned events the order workflow publishes. Consumers act on them without calling back.

The routing key is `<type>.v<version>`; a breaking change is a new version, published beside
the old one until every consumer understands it.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from contracts.money import Currency
from contracts.order import Address, Contract, Failure, LineItem

EXCHANGE = "orders"

# Event ids are uuid5 names under this namespace, so a retried publish carries the same id.
_EVENT_NAMESPACE = uuid.UUID("6f2d1c3e-4b0a-5d7e-9a8f-2c1b0e9d8f7a")


def event_id_for(workflow_id: str, routing_key: str) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{workflow_id}/{routing_key}"))


class OrderSnapshot(Contract):
    """The order as consumers need it. The payment token never leaves the critical path."""

    order_id: str
    customer_id: str
    email: str
    shipping_address: Address
    items: list[LineItem]
    currency: Currency
    total: Decimal


class OrderCompletedV1(Contract):
    ROUTING_KEY: ClassVar[str] = "order.completed.v1"

    type: Literal["order.completed"] = "order.completed"
    version: Literal[1] = 1
    event_id: str
    occurred_at: datetime
    order: OrderSnapshot
    payment_id: str


class OrderFailedV1(Contract):
    ROUTING_KEY: ClassVar[str] = "order.failed.v1"

    type: Literal["order.failed"] = "order.failed"
    version: Literal[1] = 1
    event_id: str
    occurred_at: datetime
    order: OrderSnapshot
    failure: Failure
    compensated: list[str]


OrderEvent = OrderCompletedV1 | OrderFailedV1
