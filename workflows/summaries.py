"""What a run and each of its steps say of themselves in the Temporal UI.

The run's static summary is set by the client at the start; a step's summary is user metadata
on its command, shown beside the activity type on the timeline. Neither is checked on replay,
so they may change without a patch. Items come from outside input: every line is bounded.
"""

from collections.abc import Iterable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.order import OrderRequest
    from contracts.steps import AssessRisk, ChargePayment, CreateOrder, PublishEvent, ReserveStock

# One line in the UI's list and timeline; the details may hold every line of the order.
MAX_SUMMARY = 120
MAX_DETAILS = 4000
TIMES = "\N{MULTIPLICATION SIGN}"


def order_summary(request: OrderRequest) -> str:
    """e.g. `order 42 · 3 items · 59.00 EUR · cust-ada`"""
    count = sum(item.quantity for item in request.items)
    items = f"{count} item" if count == 1 else f"{count} items"
    amount = f"{request.total} {request.currency}"
    return _bounded(f"order {request.order_id} · {items} · {amount} · {request.customer_id}")


def order_details(request: OrderRequest) -> str:
    """The order's lines, one a line (no email, address or payment token)."""
    lines = [
        f"{i.quantity}{TIMES}{i.sku} at {i.unit_price} {request.currency}" for i in request.items
    ]
    return _bounded("\n".join(lines), MAX_DETAILS)


def step(name: str, command: object) -> str:
    """A forward step's summary: what it does to this order, not its activity type."""
    if isinstance(command, CreateOrder):
        return _bounded(
            f"create order {command.request.order_id} for {command.request.customer_id}"
        )
    if isinstance(command, ReserveStock):
        return _bounded(
            f"reserve {_quantities((line.quantity, line.sku) for line in command.lines)}"
        )
    if isinstance(command, AssessRisk):
        return f"screen {command.amount} {command.currency} for fraud"
    if isinstance(command, ChargePayment):
        return f"charge {command.amount} {command.currency}"
    if isinstance(command, PublishEvent):
        return f"publish {command.event.ROUTING_KEY}"
    if name == "confirm_order":
        return "confirm the order (pivot: no way back after it)"
    if name == "cancel_unless_confirmed":
        return "cancelled: settle with the orders service whether the pivot was passed"
    return name


def undo(name: str, request: OrderRequest) -> str:
    """A compensation's summary, e.g. `undo: refund 59.00 EUR`."""
    if name == "refund_payment":
        return f"undo: refund {request.total} {request.currency}"
    if name == "release_stock":
        return _bounded(f"undo: release {_quantities((i.quantity, i.sku) for i in request.items)}")
    if name == "cancel_order":
        return _bounded(f"undo: cancel order {request.order_id}")
    return f"undo: {name}"


def _quantities(lines: Iterable[tuple[int, str]]) -> str:
    return ", ".join(f"{quantity}{TIMES}{sku}" for quantity, sku in lines)


def _bounded(text: str, limit: int = MAX_SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
