"""The order as it enters Podium, and what Podium says about it afterwards."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.addresses import MAX_ADDRESS, check_email
from contracts.money import Currency, has_minor_precision, quantize

MAX_ITEMS = 100
MAX_QUANTITY = 1000
MAX_UNIT_PRICE = Decimal("1000000")

# Defined once: the contracts validate with these, the services check their own inputs with
# them, and contracts/scrub.py redacts any `tok_` run of the token's characters from free text.
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,31}$"
PAYMENT_TOKEN_CHARS = "A-Za-z0-9_"
PAYMENT_TOKEN_PATTERN = rf"^tok_[{PAYMENT_TOKEN_CHARS}]{{1,60}}$"

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
# The length bound applies before the (linear) address check runs.
Email = Annotated[str, StringConstraints(max_length=MAX_ADDRESS), AfterValidator(check_email)]
PaymentToken = Annotated[str, StringConstraints(pattern=PAYMENT_TOKEN_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Contract(BaseModel):
    """Base of every model that crosses a process boundary: strict shape, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(Contract):
    name: Text
    line1: Text
    line2: Text | None = None
    city: Text
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{2,12}$")]
    country: CountryCode


class LineItem(Contract):
    sku: Sku
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    unit_price: Decimal = Field(gt=0, le=MAX_UNIT_PRICE, allow_inf_nan=False)

    @field_validator("unit_price", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError('give money as a decimal string such as "12.50", never a float')
        return value


class OrderRequest(Contract):
    """A customer's order, validated at the boundary before any workflow starts."""

    order_id: Identifier
    customer_id: Identifier
    email: Email
    shipping_address: Address
    items: list[LineItem] = Field(min_length=1, max_length=MAX_ITEMS)
    currency: Currency
    payment_token: PaymentToken

    @model_validator(mode="after")
    def _check_items(self) -> Self:
        seen: set[str] = set()
        for item in self.items:
            if item.sku in seen:
                raise ValueError(f"sku {item.sku} appears twice; merge it into one line")
            seen.add(item.sku)
            if not has_minor_precision(item.unit_price, self.currency):
                raise ValueError(
                    f"unit_price {item.unit_price} of {item.sku} has more decimals than "
                    f"{self.currency} allows ({self.currency.exponent})"
                )
        return self

    @property
    def total(self) -> Decimal:
        return quantize(
            sum((i.unit_price * i.quantity for i in self.items), Decimal(0)), self.currency
        )

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.order_id)


_WORKFLOW_ID_PREFIX = "order-"


def workflow_id_for(order_id: str) -> str:
    """One order, one workflow: the id every client and tool derives the same way."""
    return f"{_WORKFLOW_ID_PREFIX}{order_id}"


def order_id_from_workflow_id(workflow_id: str) -> str | None:
    """The order a workflow id names (the inverse of `workflow_id_for`); None for a workflow
    that is not an order's."""
    if not workflow_id.startswith(_WORKFLOW_ID_PREFIX):
        return None
    return workflow_id[len(_WORKFLOW_ID_PREFIX) :] or None


class OrderState(StrEnum):
    RECEIVED = "RECEIVED"
    CREATED = "CREATED"
    RESERVED = "RESERVED"
    AWAITING_REVIEW = "AWAITING_REVIEW"  # stopped before the charge until a person decides
    CHARGED = "CHARGED"
    CONFIRMED = "CONFIRMED"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in (OrderState.COMPLETED, OrderState.FAILED, OrderState.CANCELLED)


class Failure(Contract):
    """Why an order did not complete: a stable code for machines, a message for people."""

    code: str
    message: str


StepOutcome = Literal[
    "succeeded",
    "failed",
    "interrupted",  # stopped by a cancel while in flight
    "compensated",
    # the outcomes of step "review" (manual review of a risky order):
    "awaiting",
    "approved",
    "rejected",
    "timed out",
    "compensation retrying",  # one failed round of a compensation
    # the outcomes of step "cancel":
    "requested",
    "too late",  # past the pivot
    "not needed",  # already undoing
]


class StepRecord(Contract):
    step: str
    outcome: StepOutcome
    at: datetime
    detail: str | None = None


class NeedsOperator(Contract):
    """A compensation that keeps failing: it is still retried, and a person should look."""

    compensation: str
    rounds: int
    last_error: str


class PendingReview(Contract):
    """Why an order waits for a reviewer, and until when: then it is rejected automatically."""

    reason: str
    deadline: datetime


class OrderStatus(Contract):
    """What the status query returns: where the order is and how it got there."""

    order_id: str
    state: OrderState
    total: Decimal
    currency: Currency
    steps: list[StepRecord] = []
    failure: Failure | None = None
    cancel_requested: bool = False
    pivot_passed: bool = False
    needs_operator: NeedsOperator | None = None
    review: PendingReview | None = None  # while AWAITING_REVIEW


class OrderResult(Contract):
    """The workflow's final word on an order."""

    order_id: str
    state: OrderState
    total: Decimal
    currency: Currency
    failure: Failure | None = None
    payment_id: str | None = None
    event_id: str | None = None
    compensated: list[str] = []  # the undone steps, newest first


class Confirmation(Contract):
    """The answer a customer waits for: the order is confirmed (charged and past its pivot, so
    it will complete) or it is not, and why. Given as soon as that is durable; the outcome's
    event is published afterwards. An order held for manual review answers at once with state
    AWAITING_REVIEW, not confirmed and no failure: it is neither yet."""

    version: Literal[1] = 1
    order_id: str
    confirmed: bool
    state: OrderState  # where the order was when the answer was given
    total: Decimal
    currency: Currency
    failure: Failure | None = None  # why not, when not confirmed

    @classmethod
    def of(cls, result: OrderResult) -> "Confirmation":
        """The answer a finished order gives."""
        return cls(
            order_id=result.order_id,
            confirmed=result.state == OrderState.COMPLETED,
            state=result.state,
            total=result.total,
            currency=result.currency,
            failure=result.failure,
        )


class CancelResult(Contract):
    accepted: bool
    state: OrderState
    reason: str | None = None
