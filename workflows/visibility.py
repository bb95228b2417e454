"""What people see of an order outside its status query: search attributes to find it in the
Temporal UI, a one-line story as the UI's current details, and the workflow's metrics."""

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from contracts.order import (
        NeedsOperator,
        OrderRequest,
        OrderState,
        OrderStatus,
        PendingReview,
    )

# Custom search attributes for finding orders in the Temporal UI; the server must know them
# (the local stack registers them when it starts).
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
SEARCH_ATTRIBUTES = (CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL)
# Upserts are commands: workflows started before them must replay without them.
SEARCH_ATTRIBUTES_PATCH = "search-attributes"
# The OrderStatus search attribute's value while a compensation waits for an operator.
NEEDS_OPERATOR = "NEEDS_OPERATOR"


def index_order(request: OrderRequest, status: OrderStatus) -> None:
    """Make a new run findable by customer, total and status."""
    if workflow.patched(SEARCH_ATTRIBUTES_PATCH):
        workflow.upsert_search_attributes(
            [
                CUSTOMER_ID.value_set(request.customer_id),
                # An index to filter and sort on, never used as money: the order keeps its
                # Decimal total.
                ORDER_TOTAL.value_set(float(request.total)),
                ORDER_STATUS.value_set(_indexed_status(status)),
            ]
        )
    workflow.set_current_details(story(status))


def show_state(status: OrderStatus) -> None:
    """The order moved to a new state (or its operator flag was lowered)."""
    if workflow.patched(SEARCH_ATTRIBUTES_PATCH):
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(_indexed_status(status))])
    workflow.set_current_details(story(status))


def show_needs_operator(status: OrderStatus) -> None:
    workflow.upsert_search_attributes([ORDER_STATUS.value_set(NEEDS_OPERATOR)])
    workflow.set_current_details(story(status))


def count_failed_round(compensation: str) -> None:
    workflow.metric_meter().create_counter(
        "podium_compensation_failed_rounds", "Failed rounds of saga compensations"
    ).add(1, {"compensation": compensation})


def count_needing_operator(compensation: str) -> None:
    workflow.metric_meter().create_counter(
        "podium_orders_needing_operator", "Orders whose compensation keeps failing"
    ).add(1, {"compensation": compensation})


def story(status: OrderStatus) -> str:
    """One line for the UI: where the order stands and what happens next."""
    amount = f"{status.total} {status.currency}"
    reason = status.failure.message if status.failure else ""
    if (stuck := status.needs_operator) is not None:
        return _needs_operator_story(stuck)
    if status.state == OrderState.AWAITING_REVIEW and status.review is not None:
        return _review_story(status.order_id, status.review)
    return {
        OrderState.RECEIVED: "received; creating the order",
        OrderState.CREATED: "order created; reserving stock",
        OrderState.RESERVED: f"stock reserved; charging {amount}",
        OrderState.AWAITING_REVIEW: f"stock reserved; {amount} awaits a reviewer",
        OrderState.CHARGED: f"{amount} charged; confirming the order",
        OrderState.CONFIRMED: "confirmed (pivot passed); publishing order.completed.v1",
        OrderState.COMPENSATING: f"undoing the order ({reason})",
        OrderState.COMPLETED: f"completed: {amount} charged, order.completed.v1 published",
        OrderState.FAILED: f"failed ({reason}); undone, order.failed.v1 published",
        OrderState.CANCELLED: f"cancelled ({reason}); undone, order.failed.v1 published",
    }[status.state]


def _needs_operator_story(stuck: NeedsOperator) -> str:
    return (
        f"NEEDS AN OPERATOR: {stuck.compensation} failed {stuck.rounds} rounds "
        f"({stuck.last_error}); still retrying"
    )


def _review_story(order_id: str, review: PendingReview) -> str:
    by = review.deadline.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"AWAITING REVIEW ({review.reason}): a reviewer approves or rejects it by {by} "
        f"(podium review approve|reject {order_id}), else it is rejected automatically"
    )


def _indexed_status(status: OrderStatus) -> str:
    return NEEDS_OPERATOR if status.needs_operator is not None else status.state.value
