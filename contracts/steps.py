"""Inputs and results of the saga's activities: one typed object each, so fields can be
added later without breaking workflows that are already running.

Every mutating step carries an idempotency `key` derived from the workflow id and the step
name (`order-42/charge-payment`): stable across activity retries and workflow retries, so a
retried step never charges, reserves or refunds twice. A release or refund also names the key
of the step it undoes; cancelling an order names the order.
"""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from contracts.events import OrderCompletedV1, OrderFailedV1
from contracts.money import Currency
from contracts.order import Contract, OrderRequest, Sku


class CreateOrder(Contract):
    key: str
    request: OrderRequest


class OrderRef(Contract):
    """Confirm or cancel order `order_id` (`key` is this step's own idempotency key)."""

    key: str
    order_id: str


class StockLine(Contract):
    sku: Sku
    quantity: int = Field(ge=1)


class ReserveStock(Contract):
    key: str
    order_id: str
    lines: list[StockLine]


class ReleaseStock(Contract):
    key: str
    reservation_key: str


class ChargePayment(Contract):
    key: str
    order_id: str
    amount: Decimal
    currency: Currency
    payment_token: str


class AssessRisk(Contract):
    """Screen an order for fraud before it is charged (read-only: nothing to undo)."""

    order_id: str
    amount: Decimal
    currency: Currency
    payment_token: str


class RiskAssessment(Contract):
    """The screen's verdict; a refusal is a FraudSuspected failure instead.

    "review" holds the order for a person, for `review_window` at most. The window is decided
    here, in the recorded result, so a workflow's replay never depends on today's settings.
    """

    order_id: str
    decision: Literal["approved", "review"] = "approved"
    reason: str | None = None  # why it needs a review
    review_window: timedelta | None = None


class RefundPayment(Contract):
    key: str
    charge_key: str


class OrderRecord(Contract):
    order_id: str
    status: str  # PENDING | CONFIRMED | CANCELLED


class Reservation(Contract):
    reservation_id: str
    status: str  # RESERVED | RELEASED | VOIDED (released before it was made)
    lines: list[StockLine]


# Payment and refund ids derive from their idempotency keys alone: the gateway, the reconciler
# and a workflow that knows only the key name the same payment.
PAYMENT_IDS = uuid.UUID("3c8a1f2e-7d6b-5a4c-9e0f-1b2d3c4e5f60")


def payment_id_for(charge_key: str) -> str:
    return str(uuid.uuid5(PAYMENT_IDS, charge_key))


class Charge(Contract):
    payment_id: str
    status: str  # CAPTURED | REFUNDED | VOIDED (refunded before it was made)
    amount: Decimal
    currency: Currency


class PublishEvent(Contract):
    event: OrderCompletedV1 | OrderFailedV1


class Published(Contract):
    event_id: str
    routing_key: str
