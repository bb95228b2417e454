"""OrderUndoWorkflow: an order's undo, continued in a new run once its compensations had failed
for a bounded number of rounds (same workflow id, so `podium status` and the UI follow it).

It is the order workflow resumed in its compensating state: the same status query, cancel
update and saga mechanics, with one typed input, the saga carried as data.
"""

from temporalio import workflow

from workflows.order import OrderNotPlaced, OrderWorkflow
from workflows.progress import Progress

with workflow.unsafe.imports_passed_through():
    from contracts.order import OrderResult, OrderState
    from contracts.saga_state import CarriedSaga


@workflow.defn
class OrderUndoWorkflow(OrderWorkflow):
    @workflow.init
    def __init__(self, carried: CarriedSaga) -> None:
        super().__init__(carried.request)
        self._state = OrderState.COMPENSATING
        self._failure = carried.failure
        self._progress = Progress(carried.request.order_id, carried.steps)
        self._cancel_requested = carried.cancel_requested
        self._needs_operator = carried.needs_operator
        self._compensated = list(carried.compensated)
        for name in carried.pending:
            self._saga.on_failure(self._compensation(name))
        self._saga.rounds = carried.rounds

    @workflow.run
    async def run(self, carried: CarriedSaga) -> OrderResult:  # type: ignore[override]
        self._index_order()
        stop = OrderNotPlaced(carried.outcome, carried.failure)
        return await self._stop(stop)


# Every workflow type an order runs as: a worker registers them all.
ORDER_WORKFLOWS = [OrderWorkflow, OrderUndoWorkflow]
