"""What an order's saga carries into a new run when it continues as new while compensating."""

from contracts.order import (
    Contract,
    Failure,
    NeedsOperator,
    OrderRequest,
    OrderState,
    StepRecord,
)


class CarriedSaga(Contract):
    """The undo still to do, as data: compensations are rebuilt from their names, whose
    commands derive from the request and the workflow id (the same idempotency keys)."""

    request: OrderRequest
    outcome: OrderState  # the state the order ends in once undone: FAILED or CANCELLED
    failure: Failure
    pending: list[str]  # compensation names, oldest first (undone newest first)
    compensated: list[str] = []
    steps: list[StepRecord] = []  # a bounded tail of the previous runs' records
    rounds: int = 0  # failed rounds of the current compensation so far, across runs
    cancel_requested: bool = False
    needs_operator: NeedsOperator | None = None
