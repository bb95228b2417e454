"""Versioned events the order workflow publishes. Consumers act on them without calling back.

The routing key is `<type>.v<version>`; a breaking change is a new version, published beside
the old one until every consumer understands it.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from contracts.addresses import MAX_ADDRESS
from contracts.money import Currency
from contracts.order import (
    MAX_ITEMS,
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
    Address,
    Contract,
    Failure,
    Identifier,
    LineItem,
)

EXCHANGE = "orders"
MAX_TOTAL = MAX_UNIT_PRICE * MAX_QUANTITY * MAX_ITEMS
# Events arrive from the broker, where anyone with access can publish: every field is bounded,
# so no value (a total of 1E+999999999, say) can cost a consumer more than linear time.
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# Event ids are uuid5 names under this namespace, so a retried publish carries the same id.
_EVENT_NAMESPACE = uuid.UUID("6f2d1c3e-4b0a-5d7e-9a8f-2c1b0e9d8f7a")


def event_id_for(workflow_id: str, routing_key: str) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{workflow_id}/{routing_key}"))


class OrderSnapshot(Contract):
    """The order as consumers need it. The payment token never leaves the critical path."""

    order_id: Identifier
    customer_id: Identifier
    email: Annotated[str, StringConstraints(max_length=MAX_ADDRESS)]  # checked where mailed
    shipping_address: Address
    items: list[LineItem] = Field(min_length=1, max_length=MAX_ITEMS)
    currency: Currency
    total: Decimal = Field(ge=0, le=MAX_TOTAL, allow_inf_nan=False)


class OrderCompletedV1(Contract):
    ROUTING_KEY: ClassVar[str] = "order.completed.v1"

    type: Literal["order.completed"] = "order.completed"
    version: Literal[1] = 1
    event_id: EventId
    occurred_at: datetime
    order: OrderSnapshot
    payment_id: Annotated[str, StringConstraints(max_length=128)]


class OrderFailedV1(Contract):
    ROUTING_KEY: ClassVar[str] = "order.failed.v1"

    type: Literal["order.failed"] = "order.failed"
    version: Literal[1] = 1
    event_id: EventId
    occurred_at: datetime
    order: OrderSnapshot
    failure: Failure
    compensated: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=20)


OrderEvent = OrderCompletedV1 | OrderFailedV1
