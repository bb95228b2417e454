"""How an order's run ends, so the Temporal UI's list tells the outcome at a glance.

A completed order completes the run. An order undone after a refusal or a give-up fails it
with `OrderFailed`, a customer's cancel with `OrderCancelled`, both non-retryable and carrying
the OrderResult as details. A cancel through Temporal ends the run as Canceled, with the
OrderResult in the memo (a workflow's cancel carries no details in this SDK).

Temporal shows a run as Canceled only when a cancel request reached it: the SDK emits the
cancel command only then, and the server refuses a workflow's cancel request for itself. A
customer's cancel is an update, so its run fails, typed, instead (README "Seeing an order").
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

with workflow.unsafe.imports_passed_through():
    from contracts.order import OrderResult, OrderState

# Undone orders end as failed or cancelled runs instead of completed ones. It only changes the
# run's last command; the marker it records is one of the `core_patch` markers on a run's
# timeline (README "Seeing an order").
OUTCOME_AS_RUN_STATUS_PATCH = "outcome-as-run-status"
ORDER_FAILED = "OrderFailed"
ORDER_CANCELLED = "OrderCancelled"
OUTCOME_MEMO = "outcome"
# A step that failed for another reason than a refusal records the code `<step>_failed`
# (workflows/order.py): a give-up, worth a failure metric; refusals and cancels are not.
GAVE_UP_SUFFIX = "_failed"


def not_placed(result: OrderResult) -> OrderResult:
    """End an undone order: fail the run with its outcome (a history recorded before the
    patch replays returning it, as it did)."""
    if not workflow.patched(OUTCOME_AS_RUN_STATUS_PATCH):
        return result
    assert result.failure is not None  # an undone order always says why
    cancelled = result.state == OrderState.CANCELLED
    gave_up = result.failure.code.endswith(GAVE_UP_SUFFIX)
    raise ApplicationError(
        result.failure.message,
        result.model_dump(mode="json"),
        type=ORDER_CANCELLED if cancelled else ORDER_FAILED,
        non_retryable=True,
        # Benign: a refusal or a cancel is business as usual, so the SDK neither logs it as a
        # warning nor counts it as a failed workflow in its metrics.
        category=ApplicationErrorCategory.UNSPECIFIED
        if gave_up
        else ApplicationErrorCategory.BENIGN,
    )


def cancelled_through_temporal(result: OrderResult, reason: str) -> asyncio.CancelledError:
    """The error that ends the run as Canceled, once its outcome is in the memo."""
    if workflow.patched(OUTCOME_AS_RUN_STATUS_PATCH):
        workflow.upsert_memo({OUTCOME_MEMO: result.model_dump(mode="json")})
    return asyncio.CancelledError(reason)
