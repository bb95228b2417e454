"""OrderWorkflow: the critical path of an order, as a saga.

create order -> reserve stock -> fraud screen -> charge payment -> confirm order (pivot)
-> publish outcome

A refusal (out of stock, suspected fraud, declined card) or a customer's cancel before the
pivot undoes what was done, newest first (refund -> release -> cancel), and publishes
order.failed.v1. Past the pivot the order can only complete: order.completed.v1 is published,
retried until the broker confirms it.
"""

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.policies import (
    BUSINESS_ERRORS,
    COMPENSATION,
    FORWARD,
    ONWARD,
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
        OrderRequest,
        OrderResult,
        OrderState,
        OrderStatus,
        StepRecord,
    )
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
        self._saga = Saga(
            pause=lambda round_: workflow.sleep(compensation_pause(round_)),
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
            return await self._undo(stop)
        return await self._complete(payment_id)

    # The critical path ---------------------------------------------------------------------

    async def _create_order(self) -> None:
        command = CreateOrder(key=self._key("create-order"), request=self._request)
        cancel = self._compensation(
            "cancel_order",
            OrderActivities.cancel_order,
            OrderRef(key=self._key("cancel-order"), order_id=self._request.order_id),
        )
        await self._forward("create_order", OrderActivities.create_order, command, cancel)
        self._set_state(OrderState.CREATED)

    async def _reserve_stock(self) -> None:
        command = ReserveStock(
            key=self._key("reserve-stock"),
            order_id=self._request.order_id,
            lines=[StockLine(sku=i.sku, quantity=i.quantity) for i in self._request.items],
        )
        release = self._compensation(
            "release_stock",
            InventoryActivities.release_stock,
            ReleaseStock(key=self._key("release-stock"), reservation_key=command.key),
        )
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
        refund = self._compensation(
            "refund_payment",
            PaymentActivities.refund_payment,
            RefundPayment(key=self._key("refund-payment"), charge_key=command.key),
        )
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
        self._set_state(OrderState.COMPENSATING)
        compensated = await self._saga.compensate()
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
                    ORDER_STATUS.value_set(self._state.value),
                ]
            )
        workflow.set_current_details(self._story())

    def _set_state(self, state: OrderState) -> None:
        self._state = state
        if workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(state.value)])
        workflow.set_current_details(self._story())

    def _story(self) -> str:
        """One line for the UI: where the order stands and what happens next."""
        amount = f"{self._request.total} {self._request.currency}"
        reason = self._failure.message if self._failure else ""
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
        await workflow.wait([handle, cancel_requested], return_when=asyncio.FIRST_COMPLETED)
        cancel_requested.cancel()
        if not handle.done():
            handle.cancel()
            with suppress(ActivityError, asyncio.CancelledError):
                await handle
            self._undo_later(undo)
            self._record(name, "interrupted", "cancel requested")
            raise OrderNotPlaced(OrderState.CANCELLED, CANCELLED_BY_CUSTOMER)
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

    def _undo_later(self, undo: Compensation | None) -> None:
        if undo is not None:
            self._saga.on_failure(undo)

    async def _onward(self, name: str, activity: Callable[[Any, Any], Any], command: object) -> Any:
        """Run a step that must complete: retried until it succeeds, never cancelled."""
        try:
            result = await self._start(name, activity, command, ONWARD)
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

    def _compensation(
        self, name: str, activity: Callable[[Any, Any], Any], command: object
    ) -> Compensation:
        async def compensate() -> None:
            await workflow.execute_activity_method(
                activity,
                command,
                start_to_close_timeout=COMPENSATION.start_to_close,
                retry_policy=COMPENSATION.retry,
                summary=name,
            )
            self._record(name, "compensated")

        return Compensation(name, compensate)

    def _stop_if_cancelled(self) -> None:
        if self._cancel_requested:
            raise OrderNotPlaced(OrderState.CANCELLED, CANCELLED_BY_CUSTOMER)

    def _compensation_failed(self, name: str, round_: int, error: BaseException) -> None:
        self._record(name, "compensation retrying", f"round {round_} failed: {_describe(error)}")

    def _record(self, step: str, outcome: str, detail: str | None = None) -> None:
        self._steps.append(StepRecord(step=step, outcome=outcome, at=workflow.now(), detail=detail))
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
