"""OrderWorkflow: the critical path of an order, as a saga.

create order -> reserve stock -> fraud screen -> charge payment -> confirm order (pivot)
-> publish outcome

A refusal (out of stock, suspected fraud, declined card), a customer's cancel (`podium cancel`)
or a cancel requested through Temporal (UI, `temporal workflow cancel`, any SDK) before the
pivot undoes what was done, newest first (refund -> release -> cancel), and publishes
order.failed.v1; a Temporal cancel then ends the run as Canceled. Compensations, the pivot and
the publish are never interrupted by a cancel. Past the pivot the order can only complete:
order.completed.v1 is published, retried until the broker confirms it, and a late Temporal
cancel is only recorded. A compensation that keeps failing is retried in rounds, flagged for an
operator after a few, and continues as new after a bounded number so history stays small.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.policies import (
    BUSINESS_ERRORS,
    CARRIED_STEP_RECORDS,
    COMPENSATION,
    FORWARD,
    MAX_STEP_RECORDS,
    NEEDS_OPERATOR_AFTER_ROUNDS,
    ONWARD,
    ROUNDS_PER_RUN,
    StepPolicy,
    compensation_pause,
)
from workflows.saga import Compensation, Saga

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities
    from activities.inventory import InventoryActivities
    from activities.orders import OrderActivities
    from activities.payments import PaymentActivities
    from activities.risk import RiskActivities
    from contracts.events import OrderCompletedV1, OrderFailedV1, OrderSnapshot, event_id_for
    from contracts.order import (
        CancelResult,
        Failure,
        NeedsOperator,
        OrderRequest,
        OrderResult,
        OrderState,
        OrderStatus,
        StepRecord,
    )
    from contracts.saga_state import CarriedSaga
    from contracts.steps import (
        AssessRisk,
        Charge,
        ChargePayment,
        CreateOrder,
        OrderRef,
        PublishEvent,
        RefundPayment,
        ReleaseStock,
        ReserveStock,
        StockLine,
    )

CANCELLED_BY_CUSTOMER = Failure(code="cancelled", message="cancelled at the customer's request")
CANCELLED_THROUGH_TEMPORAL = Failure(
    code="cancelled", message="cancelled through Temporal by an operator"
)
# The OrderStatus search attribute's value while a compensation waits for an operator.
NEEDS_OPERATOR = "NEEDS_OPERATOR"

# Custom search attributes for finding orders in the Temporal UI; the server must know them
# (the local stack registers them when it starts).
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
SEARCH_ATTRIBUTES = (CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL)
# Upserts are commands: workflows started before them must replay without them.
SEARCH_ATTRIBUTES_PATCH = "search-attributes"
# The fraud screen before the charge (docs/evolving-the-workflow.md).
FRAUD_CHECK_PATCH = "fraud-check"
# The operator flag (a search attribute upsert) and continue-as-new of stuck compensations:
# runs stuck before them replay their rounds without these commands.
STUCK_COMPENSATION_PATCH = "stuck-compensation"
# The workflow type a stuck undo continues as (workflows/order_undo.py).
UNDO_WORKFLOW = "OrderUndoWorkflow"

T = TypeVar("T")


class OrderNotPlaced(Exception):
    """The order stops before its pivot and must be compensated."""

    def __init__(self, state: OrderState, failure: Failure) -> None:
        super().__init__(failure.message)
        self.state = state
        self.failure = failure


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, request: OrderRequest) -> None:
        self._request = request
        self._state = OrderState.RECEIVED
        self._steps: list[StepRecord] = []
        self._failure: Failure | None = None
        self._cancel_requested = False
        self._cancelled_through_temporal = False
        self._needs_operator: NeedsOperator | None = None
        self._compensated: list[str] = []
        self._rounds_this_run = 0
        self._stopped_as = OrderState.FAILED
        self._saga = Saga(
            pause=self._pause_between_rounds,
            retry_on=(ActivityError,),
            on_retry=self._compensation_failed,
        )

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderResult:
        self._index_order()
        try:
            await self._create_order()
            await self._reserve_stock()
            # Added after v2 shipped: orders started before it replay without the step.
            if workflow.patched(FRAUD_CHECK_PATCH):
                await self._screen_for_fraud()
            payment_id = await self._charge_payment()
            await self._confirm_order()
        except OrderNotPlaced as stop:
            result = await self._uninterruptible(self._undo(stop))
            if stop.failure == CANCELLED_THROUGH_TEMPORAL and self._cancelled_through_temporal:
                # Undone and published: now the run ends as Canceled, as the operator asked.
                raise asyncio.CancelledError(CANCELLED_THROUGH_TEMPORAL.message) from None
            return result
        return await self._uninterruptible(self._complete(payment_id))

    # The critical path ---------------------------------------------------------------------

    async def _create_order(self) -> None:
        command = CreateOrder(key=self._key("create-order"), request=self._request)
        cancel = self._compensation("cancel_order")
        await self._forward("create_order", OrderActivities.create_order, command, cancel)
        self._set_state(OrderState.CREATED)

    async def _reserve_stock(self) -> None:
        command = ReserveStock(
            key=self._key("reserve-stock"),
            order_id=self._request.order_id,
            lines=[StockLine(sku=i.sku, quantity=i.quantity) for i in self._request.items],
        )
        release = self._compensation("release_stock")
        await self._forward("reserve_stock", InventoryActivities.reserve_stock, command, release)
        self._set_state(OrderState.RESERVED)

    async def _screen_for_fraud(self) -> None:
        command = AssessRisk(
            order_id=self._request.order_id,
            amount=self._request.total,
            currency=self._request.currency,
            payment_token=self._request.payment_token,
        )
        await self._forward("assess_risk", RiskActivities.assess_risk, command)

    async def _charge_payment(self) -> str:
        command = ChargePayment(
            key=self._key("charge-payment"),
            order_id=self._request.order_id,
            amount=self._request.total,
            currency=self._request.currency,
            payment_token=self._request.payment_token,
        )
        refund = self._compensation("refund_payment")
        charge: Charge = await self._forward(
            "charge_payment", PaymentActivities.charge_payment, command, refund
        )
        self._set_state(OrderState.CHARGED)
        return charge.payment_id

    async def _confirm_order(self) -> None:
        """The pivot: once the order is confirmed it can no longer be undone."""
        self._stop_if_cancelled()
        self._saga.pass_pivot()
        command = OrderRef(key=self._key("confirm-order"), order_id=self._request.order_id)
        await self._onward("confirm_order", OrderActivities.confirm_order, command)
        self._set_state(OrderState.CONFIRMED)

    async def _complete(self, payment_id: str) -> OrderResult:
        event = OrderCompletedV1(
            event_id=event_id_for(workflow.info().workflow_id, OrderCompletedV1.ROUTING_KEY),
            occurred_at=workflow.now(),
            order=self._snapshot(),
            payment_id=payment_id,
        )
        await self._publish(event)
        self._set_state(OrderState.COMPLETED)
        return self._result(payment_id=payment_id, event_id=event.event_id)

    async def _undo(self, stop: OrderNotPlaced) -> OrderResult:
        self._failure = stop.failure
        self._stopped_as = stop.state
        self._set_state(OrderState.COMPENSATING)
        self._compensated += await self._saga.compensate()
        compensated = self._compensated
        event = OrderFailedV1(
            event_id=event_id_for(workflow.info().workflow_id, OrderFailedV1.ROUTING_KEY),
            occurred_at=workflow.now(),
            order=self._snapshot(),
            failure=stop.failure,
            compensated=compensated,
        )
        await self._publish(event)
        self._set_state(stop.state)
        return self._result(event_id=event.event_id)

    async def _publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        await self._onward(
            "publish_event", EventActivities.publish_event, PublishEvent(event=event)
        )

    # Status and cancellation ---------------------------------------------------------------

    @workflow.query
    def status(self) -> OrderStatus:
        return OrderStatus(
            order_id=self._request.order_id,
            state=self._state,
            total=self._request.total,
            currency=self._request.currency,
            steps=list(self._steps),
            failure=self._failure,
            cancel_requested=self._cancel_requested,
            pivot_passed=self._saga.pivot_passed,
            needs_operator=self._needs_operator,
        )

    @workflow.update
    def cancel(self) -> CancelResult:
        """Ask for the order to be cancelled; it is compensated at once, even mid-step."""
        self._cancel_requested = True
        self._record("cancel", "requested")
        return CancelResult(accepted=True, state=self._state)

    @cancel.validator
    def _cancel_allowed(self) -> None:
        if self._saga.pivot_passed:
            raise ValueError("the order is already confirmed and can no longer be cancelled")
        if self._cancel_requested or self._state == OrderState.COMPENSATING:
            raise ValueError("the order is already being cancelled")

    # Visibility: search attributes and the UI's current details ------------------------

    def _index_order(self) -> None:
        if workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            workflow.upsert_search_attributes(
                [
                    CUSTOMER_ID.value_set(self._request.customer_id),
                    # An index to filter and sort on, never used as money: the order keeps its
                    # Decimal total.
                    ORDER_TOTAL.value_set(float(self._request.total)),
                    ORDER_STATUS.value_set(self._indexed_status()),
                ]
            )
        workflow.set_current_details(self._story())

    def _set_state(self, state: OrderState) -> None:
        self._state = state
        if workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(self._indexed_status())])
        workflow.set_current_details(self._story())

    def _indexed_status(self) -> str:
        return NEEDS_OPERATOR if self._needs_operator is not None else self._state.value

    def _story(self) -> str:
        """One line for the UI: where the order stands and what happens next."""
        amount = f"{self._request.total} {self._request.currency}"
        reason = self._failure.message if self._failure else ""
        if (stuck := self._needs_operator) is not None:
            return (
                f"NEEDS AN OPERATOR: {stuck.compensation} failed {stuck.rounds} rounds "
                f"({stuck.last_error}); still retrying"
            )
        return {
            OrderState.RECEIVED: "received; creating the order",
            OrderState.CREATED: "order created; reserving stock",
            OrderState.RESERVED: f"stock reserved; charging {amount}",
            OrderState.CHARGED: f"{amount} charged; confirming the order",
            OrderState.CONFIRMED: "confirmed (pivot passed); publishing order.completed.v1",
            OrderState.COMPENSATING: f"undoing the order ({reason})",
            OrderState.COMPLETED: f"completed: {amount} charged, order.completed.v1 published",
            OrderState.FAILED: f"failed ({reason}); undone, order.failed.v1 published",
            OrderState.CANCELLED: f"cancelled ({reason}); undone, order.failed.v1 published",
        }[self._state]

    # Mechanics -----------------------------------------------------------------------------

    async def _forward(
        self,
        name: str,
        activity: Callable[[Any, Any], Any],
        command: object,
        undo: Compensation | None = None,
    ) -> Any:
        """Run a step before the pivot, racing it against a cancel request.

        Its compensation (none for a step without effects) is pushed when the step succeeded,
        and also when its outcome is unknown (cancelled mid-flight, timed out): compensations
        tolerate an effect that never happened, and the services void a late effect that
        arrives after its undo.
        """
        self._stop_if_cancelled()
        handle = self._start(name, activity, command, FORWARD)
        cancel_requested = asyncio.ensure_future(
            workflow.wait_condition(lambda: self._cancel_requested)
        )
        try:
            await workflow.wait([handle, cancel_requested], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Temporal's cancel lands here, even when the step's result arrived in the same
            # activation: the step may have taken effect, so it is undone like the others.
            self._cancelled_through_temporal = self._cancel_requested = True
            self._record("cancel", "requested", "through Temporal")
            await self._interrupt(name, handle, undo, CANCELLED_THROUGH_TEMPORAL)
        finally:
            cancel_requested.cancel()
        if not handle.done():
            await self._interrupt(name, handle, undo, CANCELLED_BY_CUSTOMER)
        try:
            result = handle.result()
        except ActivityError as err:
            failure = _business_failure(err)
            if failure is None:
                self._undo_later(undo)  # gave up: the effect may have happened
                failure = Failure(code=f"{name}_failed", message=_describe(err))
            self._record(name, "failed", failure.message)
            raise OrderNotPlaced(OrderState.FAILED, failure) from err
        self._record(name, "succeeded")
        self._undo_later(undo)
        return result

    async def _interrupt(
        self,
        name: str,
        handle: "workflow.ActivityHandle[Any]",
        undo: Compensation | None,
        reason: Failure,
    ) -> None:
        """Stop the step in flight, remember to undo it, and stop the order."""
        if not handle.done():
            handle.cancel()
        with suppress(ActivityError, asyncio.CancelledError):
            await handle
        self._undo_later(undo)
        self._record(name, "interrupted", "cancel requested")
        raise OrderNotPlaced(OrderState.CANCELLED, reason)

    def _undo_later(self, undo: Compensation | None) -> None:
        if undo is not None:
            self._saga.on_failure(undo)

    async def _onward(self, name: str, activity: Callable[[Any, Any], Any], command: object) -> Any:
        """Run a step that must complete: retried until it succeeds, never cancelled."""
        try:
            result = await self._uninterruptible(self._start(name, activity, command, ONWARD))
        except ActivityError as err:
            self._record(name, "failed", _describe(err))
            # A refusal here cannot be undone: fail loudly for an operator, never silently.
            raise ApplicationError(
                f"{name} was refused after the order passed its pivot: {_describe(err)}",
                type="OnwardStepRefused",
                non_retryable=True,
            ) from err
        self._record(name, "succeeded")
        return result

    def _start(
        self,
        name: str,
        activity: Callable[[Any, Any], Any],
        command: object,
        policy: StepPolicy,
    ) -> "workflow.ActivityHandle[Any]":
        return workflow.start_activity_method(
            activity,
            command,
            start_to_close_timeout=policy.start_to_close,
            schedule_to_close_timeout=policy.schedule_to_close,
            retry_policy=policy.retry,
            summary=name,
        )

    def _compensation(self, name: str) -> Compensation:
        """How to undo a step, by name: its command derives from the request and the workflow
        id alone, so a run continued as new rebuilds it with the same idempotency key."""
        activity, command = self._compensation_command(name)

        async def compensate() -> None:
            await workflow.execute_activity_method(
                activity,
                command,
                start_to_close_timeout=COMPENSATION.start_to_close,
                retry_policy=COMPENSATION.retry,
                summary=name,
            )
            self._record(name, "compensated")
            if self._needs_operator is not None:
                self._needs_operator = None
                self._set_state(self._state)

        return Compensation(name, compensate)

    def _compensation_command(self, name: str) -> tuple[Callable[[Any, Any], Any], object]:
        order_id = self._request.order_id
        if name == "cancel_order":
            return OrderActivities.cancel_order, OrderRef(
                key=self._key("cancel-order"), order_id=order_id
            )
        if name == "release_stock":
            return InventoryActivities.release_stock, ReleaseStock(
                key=self._key("release-stock"), reservation_key=self._key("reserve-stock")
            )
        if name == "refund_payment":
            return PaymentActivities.refund_payment, RefundPayment(
                key=self._key("refund-payment"), charge_key=self._key("charge-payment")
            )
        raise ValueError(f"no compensation named {name!r}")

    async def _uninterruptible(self, work: Awaitable[T]) -> T:
        """Await `work` to its end even if Temporal cancels the workflow meanwhile.

        Temporal's cancel is an asyncio cancel of the run's task: the shield keeps it from
        reaching `work`, and the cancel is recorded instead of stopping an undo, the pivot or
        a publish halfway (sdk-python #620, #1224).
        """
        task = asyncio.ensure_future(work)
        while True:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.cancelled():
                    raise
                self._cancel_requested = True
                if self._saga.pivot_passed:
                    self._record("cancel", "too late", "through Temporal, past the pivot")
                else:
                    self._record("cancel", "not needed", "through Temporal; already undoing")

    def _stop_if_cancelled(self) -> None:
        if self._cancel_requested:
            raise OrderNotPlaced(OrderState.CANCELLED, CANCELLED_BY_CUSTOMER)

    def _compensation_failed(self, name: str, round_: int, error: BaseException) -> None:
        self._record(name, "compensation retrying", f"round {round_} failed: {_describe(error)}")
        self._rounds_this_run += 1
        meter = workflow.metric_meter()
        meter.create_counter(
            "podium_compensation_failed_rounds", "Failed rounds of saga compensations"
        ).add(1, {"compensation": name})
        if round_ < NEEDS_OPERATOR_AFTER_ROUNDS or not workflow.patched(STUCK_COMPENSATION_PATCH):
            return
        if self._needs_operator is None:
            meter.create_counter(
                "podium_orders_needing_operator", "Orders whose compensation keeps failing"
            ).add(1, {"compensation": name})
            workflow.logger.error(
                "compensation %s keeps failing; the order needs an operator",
                name,
                extra={"order_id": self._request.order_id, "step": name},
            )
        self._needs_operator = NeedsOperator(
            compensation=name, rounds=round_, last_error=_describe(error)[:500]
        )
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(NEEDS_OPERATOR)])
        workflow.set_current_details(self._story())

    async def _pause_between_rounds(self, round_: int) -> None:
        """Wait before the next round, or continue as new once this run has had enough."""
        bounded = self._rounds_this_run >= ROUNDS_PER_RUN
        if (bounded or workflow.info().is_continue_as_new_suggested()) and workflow.patched(
            STUCK_COMPENSATION_PATCH
        ):
            await workflow.wait_condition(workflow.all_handlers_finished)
            # A workflow type of its own, so each type keeps one typed input.
            workflow.continue_as_new(
                args=[self._carried()], workflow=UNDO_WORKFLOW, memo=dict(workflow.memo())
            )
        await workflow.sleep(compensation_pause(round_))

    def _carried(self) -> CarriedSaga:
        assert self._failure is not None  # only compensating runs continue as new
        return CarriedSaga(
            request=self._request,
            outcome=self._stopped_as,
            failure=self._failure,
            pending=self._saga.pending(),
            compensated=self._compensated,
            steps=self._steps[-CARRIED_STEP_RECORDS:],
            rounds=self._saga.rounds,
            cancel_requested=self._cancel_requested,
            needs_operator=self._needs_operator,
        )

    def _resume(self, carried: CarriedSaga) -> None:
        self._state = OrderState.COMPENSATING
        self._failure = carried.failure
        self._steps = list(carried.steps)
        self._cancel_requested = carried.cancel_requested
        self._needs_operator = carried.needs_operator
        self._compensated = list(carried.compensated)
        for name in carried.pending:
            self._saga.on_failure(self._compensation(name))
        self._saga.rounds = carried.rounds

    def _record(self, step: str, outcome: str, detail: str | None = None) -> None:
        self._steps.append(StepRecord(step=step, outcome=outcome, at=workflow.now(), detail=detail))
        if len(self._steps) > MAX_STEP_RECORDS:
            # Only a stuck compensation's rounds grow the list: forget its oldest retries.
            retry = next(
                i for i, s in enumerate(self._steps) if s.outcome == "compensation retrying"
            )
            del self._steps[retry]
        workflow.logger.info(
            "order step %s %s",
            step,
            outcome,
            extra={"order_id": self._request.order_id, "step": step, "outcome": outcome},
        )

    def _key(self, step: str) -> str:
        """Idempotency key: stable across activity and workflow retries, unlike the run id."""
        return f"{workflow.info().workflow_id}/{step}"

    def _snapshot(self) -> OrderSnapshot:
        r = self._request
        return OrderSnapshot(
            order_id=r.order_id,
            customer_id=r.customer_id,
            email=r.email,
            shipping_address=r.shipping_address,
            items=r.items,
            currency=r.currency,
            total=r.total,
        )

    def _result(self, payment_id: str | None = None, event_id: str | None = None) -> OrderResult:
        return OrderResult(
            order_id=self._request.order_id,
            state=self._state,
            total=self._request.total,
            currency=self._request.currency,
            failure=self._failure,
            payment_id=payment_id,
            event_id=event_id,
        )


def _business_failure(err: ActivityError) -> Failure | None:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in BUSINESS_ERRORS:
        code = str(cause.details[0]) if cause.details else str(cause.type)
        return Failure(code=code, message=cause.message)
    return None


def _describe(err: BaseException) -> str:
    cause = err.__cause__ or getattr(err, "cause", None)
    return str(cause or err)
