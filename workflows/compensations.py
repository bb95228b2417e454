"""The order's compensations by name, and what happens when one keeps failing: each failed
round is counted, the order is flagged for an operator after a few, and the undo continues as
new after a bounded number of rounds per run so its history stays small."""

from collections.abc import Callable
from typing import Any

from temporalio import workflow

from workflows import visibility
from workflows.failures import describe
from workflows.policies import COMPENSATION, NEEDS_OPERATOR_AFTER_ROUNDS, ROUNDS_PER_RUN

with workflow.unsafe.imports_passed_through():
    from activities.steps import InventoryActivities, OrderActivities, PaymentActivities
    from contracts.order import NeedsOperator
    from contracts.saga_state import CarriedSaga
    from contracts.steps import OrderRef, RefundPayment, ReleaseStock

# The operator flag (a search attribute upsert) and continue-as-new of stuck compensations:
# runs stuck before them replay their rounds without these commands.
STUCK_COMPENSATION_PATCH = "stuck-compensation"
# The workflow type a stuck undo continues as (workflows/order_undo.py).
UNDO_WORKFLOW = "OrderUndoWorkflow"


def undo_command(
    name: str, order_id: str, key: Callable[[str], str]
) -> tuple[Callable[[Any, Any], Any], object]:
    """The activity and command undoing step `name`; `key` gives a step's idempotency key."""
    if name == "cancel_order":
        return OrderActivities.cancel_order, OrderRef(key=key("cancel-order"), order_id=order_id)
    if name == "release_stock":
        return InventoryActivities.release_stock, ReleaseStock(
            key=key("release-stock"), reservation_key=key("reserve-stock")
        )
    if name == "refund_payment":
        return PaymentActivities.refund_payment, RefundPayment(
            key=key("refund-payment"), charge_key=key("charge-payment")
        )
    raise ValueError(f"no compensation named {name!r}")


async def run_round(activity: Callable[[Any, Any], Any], command: object, summary: str) -> None:
    """One round of a compensation (its activity, with a few retries of its own)."""
    await workflow.execute_activity_method(
        activity,
        command,
        start_to_close_timeout=COMPENSATION.start_to_close,
        retry_policy=COMPENSATION.retry,
        summary=summary,
    )


def needs_operator(
    name: str, round_: int, error: BaseException, order_id: str, flagged: bool
) -> NeedsOperator | None:
    """Count a failed round; from the few rounds on, the flag to raise (logged and counted the
    first time, while `flagged` is still False)."""
    visibility.count_failed_round(name)
    if round_ < NEEDS_OPERATOR_AFTER_ROUNDS or not workflow.patched(STUCK_COMPENSATION_PATCH):
        return None
    if not flagged:
        visibility.count_needing_operator(name)
        workflow.logger.error(
            "compensation %s keeps failing; the order needs an operator",
            name,
            extra={"order_id": order_id, "step": name},
        )
    return NeedsOperator(compensation=name, rounds=round_, last_error=describe(error)[:500])


def run_is_full(rounds_this_run: int) -> bool:
    """Whether this run has had enough rounds and should continue as new."""
    bounded = rounds_this_run >= ROUNDS_PER_RUN
    return (bounded or workflow.info().is_continue_as_new_suggested()) and workflow.patched(
        STUCK_COMPENSATION_PATCH
    )


async def continue_as_new(carried: Callable[[], CarriedSaga]) -> None:
    """Continue the undo in a new run, with the saga as data (taken once handlers finished)."""
    await workflow.wait_condition(workflow.all_handlers_finished)
    # A workflow type of its own, so each type keeps one typed input.
    workflow.continue_as_new(args=[carried()], workflow=UNDO_WORKFLOW, memo=dict(workflow.memo()))
