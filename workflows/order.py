"""OrderWorkflow: the critical path of an order, as a saga.

create order -> reserve stock -> fraud screen [-> manual review] -> charge payment
-> confirm order (pivot) -> publish outcome

An order the fraud screen flags for review (above PODIUM_REVIEW_ABOVE, or by its rules) waits
before the charge, AWAITING_REVIEW, for an `approve` or `reject` update (`podium review`); with
no decision within the screen's window it is rejected. Rejected, it is undone as a refusal.

A refusal (out of stock, suspected fraud, declined card), a customer's cancel (`podium cancel`)
or a cancel requested through Temporal (UI, `temporal workflow cancel`, any SDK) before the
pivot undoes what was done, newest first (refund -> release -> cancel), and publishes
order.failed.v1; the run then fails with the outcome (OrderFailed, OrderCancelled), or ends as
Canceled after a Temporal cancel (outcome.py). Compensations, the pivot and
the publish are never interrupted by a cancel. Past the pivot the order can only complete:
order.completed.v1 is published, retried until the broker confirms it, and a late Temporal
cancel is only recorded. A compensation that keeps failing is retried in rounds, flagged for an
operator after a few, and continues as new after a bounded number so history stays small.

Create, reserve, the fraud screen and confirm are short database steps run as local
activities; the charge, the compensations and the publish are regular activities.

The machinery sits beside this file: saga.py (the compensation stack), compensations.py (the
undo commands and stuck rounds), shield.py (work a cancel must not stop), progress.py (step
records), visibility.py (search attributes, UI details, metrics), summaries.py (what each step
says on the UI's timeline), outcome.py (how the run ends), review.py (the wait for a reviewer),
failures.py, policies.py.
"""

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from workflows import compensations, outcome, summaries, visibility
from workflows.failures import STEP_FAILED, business_failure, describe
from workflows.policies import (
    FORWARD,
    FORWARD_LOCAL,
    ONWARD,
    ONWARD_LOCAL,
    StepPolicy,
    compensation_pause,
)
from workflows.progress import Progress
from workflows.review import Review
from workflows.saga import Compensation, Saga
from workflows.shield import uninterruptible

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities
    from activities.steps import (
        InventoryActivities,
        OrderActivities,
        PaymentActivities,
        RiskActivities,
    )
    from contracts.events import OrderCompletedV1, OrderFailedV1, OrderSnapshot, event_id_for
    from contracts.order import (
        CancelResult,
        Confirmation,
        Failure,
        NeedsOperator,
        OrderRequest,
        OrderResult,
        OrderState,
        OrderStatus,
    )
    from contracts.review import ReviewDecision, Reviewed
    from contracts.saga_state import CarriedSaga
    from contracts.steps import (
        AssessRisk,
        Charge,
        ChargePayment,
        CreateOrder,
        OrderRef,
        PublishEvent,
        ReserveStock,
        RiskAssessment,
        StockLine,
        payment_id_for,
    )

CANCELLED_BY_CUSTOMER = Failure(code="cancelled", message="cancelled at the customer's request")
CANCELLED_THROUGH_TEMPORAL = Failure(
    code="cancelled", message="cancelled through Temporal by an operator"
)
# The fraud screen before the charge (docs/evolving-the-workflow.md).
FRAUD_CHECK_PATCH = "fraud-check"
# Create, reserve, fraud screen and confirm as local activities: orders started before it
# replay them as regular activities.
LOCAL_STEPS_PATCH = "local-steps"
# A cancelled order undoes its local steps with effects (create, reserve) whether or not its
# history reached them (see `_undo`).
UNDO_UNRECORDED_PATCH = "undo-unrecorded-local-steps"
# A cancelled order that may have been charged asks the orders service first whether a lost
# workflow task already confirmed it (see `_confirmed_by_a_lost_task`).
SETTLE_CANCEL_AT_PIVOT_PATCH = "settle-cancel-at-pivot"
# The local steps with effects, in the order they run.
LOCAL_STEPS_WITH_EFFECTS = ("cancel_order", "release_stock")
# The confirmation update's refusal of another order's contents under a taken id.
ORDER_ID_TAKEN = "OrderIdTaken"


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
        self._progress = Progress(request.order_id)
        self._failure: Failure | None = None
        self._cancel_requested = False
        self._cancelled_through_temporal = False
        self._needs_operator: NeedsOperator | None = None
        self._compensated: list[str] = []
        self._rounds_this_run = 0
        self._stopped_as = OrderState.FAILED
        self._review = Review()
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
                verdict = await self._screen_for_fraud()
                await self._hold_for_review(verdict)
            payment_id = await self._charge_payment()
            await self._confirm_order()
        except OrderNotPlaced as stop:
            return await self._stop(stop)
        return await uninterruptible(self._complete(payment_id), self._cancelled_late)

    async def _stop(self, stop: OrderNotPlaced) -> OrderResult:
        """Undo the order, then end the run as its outcome reads (workflows/outcome.py); or,
        when a lost workflow task had already passed the pivot, complete it."""
        if await self._confirmed_by_a_lost_task(stop):
            payment_id = payment_id_for(self._key("charge-payment"))
            return await uninterruptible(self._complete(payment_id), self._cancelled_late)
        result = await uninterruptible(self._undo(stop), self._cancelled_late)
        if stop.failure == CANCELLED_THROUGH_TEMPORAL and self._cancelled_through_temporal:
            # Undone and published: now the run ends as Canceled, as the operator asked.
            raise outcome.cancelled_through_temporal(result, stop.failure.message) from None
        return outcome.not_placed(result)

    # The critical path ---------------------------------------------------------------------

    async def _create_order(self) -> None:
        command = CreateOrder(key=self._key("create-order"), request=self._request)
        cancel = self._compensation("cancel_order")
        await self._forward(
            "create_order", OrderActivities.create_order, command, cancel, FORWARD_LOCAL
        )
        self._set_state(OrderState.CREATED)

    async def _reserve_stock(self) -> None:
        command = ReserveStock(
            key=self._key("reserve-stock"),
            order_id=self._request.order_id,
            lines=[StockLine(sku=i.sku, quantity=i.quantity) for i in self._request.items],
        )
        release = self._compensation("release_stock")
        await self._forward(
            "reserve_stock", InventoryActivities.reserve_stock, command, release, FORWARD_LOCAL
        )
        self._set_state(OrderState.RESERVED)

    async def _screen_for_fraud(self) -> RiskAssessment:
        command = AssessRisk(
            order_id=self._request.order_id,
            amount=self._request.total,
            currency=self._request.currency,
            payment_token=self._request.payment_token,
        )
        verdict: RiskAssessment = await self._forward(
            "assess_risk", RiskActivities.assess_risk, command, None, FORWARD_LOCAL
        )
        return verdict

    async def _hold_for_review(self, verdict: RiskAssessment) -> None:
        """A risky order waits here, before its charge, until a person decides (or no one does
        in time: rejected). A cancel meanwhile undoes it as a cancel does anywhere else."""
        if not self._review.needed(verdict):
            return
        window = self._review.open(verdict)
        self._progress.record("review", "awaiting", verdict.reason)
        self._set_state(OrderState.AWAITING_REVIEW)
        try:
            ended = await self._review.wait(window, lambda: self._cancel_requested)
        except asyncio.CancelledError:
            self._cancelled_through_temporal = self._cancel_requested = True
            self._progress.record("cancel", "requested", "through Temporal")
            raise OrderNotPlaced(OrderState.CANCELLED, CANCELLED_THROUGH_TEMPORAL) from None
        self._stop_if_cancelled()
        assert ended is not None  # only a cancel ends the wait without one
        self._progress.record("review", ended, self._review.detail())
        if ended != "approved":
            raise OrderNotPlaced(OrderState.FAILED, self._review.failure(window))
        self._set_state(OrderState.RESERVED)

    async def _charge_payment(self) -> str:
        command = ChargePayment(
            key=self._key("charge-payment"),
            order_id=self._request.order_id,
            amount=self._request.total,
            currency=self._request.currency,
            payment_token=self._request.payment_token,
        )
        refund = self._compensation("refund_payment")
        # A regular activity: its long retries and a cancel mid-charge are visible in the UI.
        charge: Charge = await self._forward(
            "charge_payment", PaymentActivities.charge_payment, command, refund, FORWARD
        )
        self._set_state(OrderState.CHARGED)
        return charge.payment_id

    async def _confirm_order(self) -> None:
        """The pivot: once the order is confirmed it can no longer be undone."""
        self._stop_if_cancelled()
        self._saga.pass_pivot()
        command = OrderRef(key=self._key("confirm-order"), order_id=self._request.order_id)
        await self._onward("confirm_order", OrderActivities.confirm_order, command, ONWARD_LOCAL)
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
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result(payment_id=payment_id, event_id=event.event_id)

    async def _confirmed_by_a_lost_task(self, stop: OrderNotPlaced) -> bool:
        """Whether the order passed its pivot in a workflow task that was lost.

        Confirm is a local step: it takes effect before the task recording it completes. When
        that task is lost and a cancel reaches the retried task first, the run would undo an
        order the orders service holds as CONFIRMED: refund it, release its stock, and then
        have its cancel refused, stuck. So a cancelled order that may have been charged (its
        refund is pending) settles the pivot with the orders service first, in one atomic
        step: an order not confirmed is cancelled there, so a late confirm is refused and the
        undo goes on; a confirmed one stays confirmed and the run goes forward, the cancel too
        late. A refusal needs no such step: the charge's failure is in the history, so no
        lost task can have confirmed the order.
        """
        may_be_charged = "refund_payment" in self._saga.pending()
        if stop.state != OrderState.CANCELLED or not may_be_charged or not self._local_steps():
            return False
        if not workflow.patched(SETTLE_CANCEL_AT_PIVOT_PATCH):
            return False
        command = OrderRef(
            key=self._key("cancel-unless-confirmed"), order_id=self._request.order_id
        )
        record = await self._onward(
            "cancel_unless_confirmed", OrderActivities.cancel_unless_confirmed, command
        )
        if record.status != "CONFIRMED":
            return False
        self._progress.record("cancel", "too late", "the order was confirmed before it")
        self._saga.pass_pivot()
        self._set_state(OrderState.CONFIRMED)
        return True

    async def _undo(self, stop: OrderNotPlaced) -> OrderResult:
        self._failure = stop.failure
        self._stopped_as = stop.state
        self._set_state(OrderState.COMPENSATING)
        # A local step takes effect before the workflow task recording it completes. When that
        # task is lost (its worker or the server went down) and a cancel arrives before it is
        # retried, the retried task stops the order before those steps: the order created and
        # the stock reserved by the lost attempt would stay. So a cancelled order undoes them
        # all; compensations tolerate an effect that never happened (a tombstone).
        cancelled = stop.state == OrderState.CANCELLED
        if cancelled and workflow.patched(UNDO_UNRECORDED_PATCH) and self._local_steps():
            self._saga.include_first([self._compensation(n) for n in LOCAL_STEPS_WITH_EFFECTS])
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
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result(event_id=event.event_id)

    async def _publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        await self._onward(
            "publish_event", EventActivities.publish_event, PublishEvent(event=event), ONWARD
        )

    # The early answer, status and cancellation ---------------------------------------------

    @workflow.update
    async def confirmation(self, request: OrderRequest) -> Confirmation:
        """Answer once the pivot is durable (confirmed), the order stopped before it (why not),
        or it waits for a reviewer (AWAITING_REVIEW: neither yet, and maybe for hours).

        Sent with the start (update-with-start), it is the customer's answer: its completion
        goes to the server with the workflow task that records the confirm step, while the
        publish carries on. An order already past that point answers at once.
        """
        await workflow.wait_condition(lambda: self._answer() is not None)
        answer = self._answer()
        assert answer is not None
        return answer

    @confirmation.validator
    def _same_order(self, request: OrderRequest) -> None:
        # Checked inside the run, atomically with the start, as the memo's fingerprint is for
        # a finished order (podium/client.py).
        if request.model_dump_json() != self._request.model_dump_json():
            raise ApplicationError(
                f"order {self._request.order_id} was already placed with different contents",
                type=ORDER_ID_TAKEN,
                non_retryable=True,
            )

    def _answer(self) -> Confirmation | None:
        if self._state in (OrderState.CONFIRMED, OrderState.COMPLETED):
            confirmed = True
        elif self._failure is not None or self._state == OrderState.AWAITING_REVIEW:
            confirmed = False  # refused, or neither yet: a reviewer decides, maybe in hours
        else:
            return None
        return Confirmation(
            order_id=self._request.order_id,
            confirmed=confirmed,
            state=self._state,
            total=self._request.total,
            currency=self._request.currency,
            failure=self._failure,
        )

    @workflow.query
    def status(self) -> OrderStatus:
        return OrderStatus(
            order_id=self._request.order_id,
            state=self._state,
            total=self._request.total,
            currency=self._request.currency,
            steps=list(self._progress.steps),
            failure=self._failure,
            cancel_requested=self._cancel_requested,
            pivot_passed=self._saga.pivot_passed,
            needs_operator=self._needs_operator,
            review=self._review.pending,
        )

    @workflow.update
    def cancel(self) -> CancelResult:
        """Ask for the order to be cancelled; it is compensated at once, even mid-step."""
        self._cancel_requested = True
        self._progress.record("cancel", "requested")
        return CancelResult(accepted=True, state=self._state)

    @cancel.validator
    def _cancel_allowed(self) -> None:
        if self._saga.pivot_passed:
            raise ValueError("the order is already confirmed and can no longer be cancelled")
        if self._cancel_requested or self._state == OrderState.COMPENSATING:
            raise ValueError("the order is already being cancelled")

    @workflow.update
    def approve(self, decision: ReviewDecision) -> Reviewed:
        """A reviewer lets an order held for review go on to its charge."""
        self._review.decide(True, decision)
        return Reviewed(
            order_id=self._request.order_id, decision="approved", reviewer=decision.reviewer
        )

    @workflow.update
    def reject(self, decision: ReviewDecision) -> Reviewed:
        """A reviewer refuses an order held for review: it is undone, as a refusal is."""
        self._review.decide(False, decision)
        return Reviewed(
            order_id=self._request.order_id, decision="rejected", reviewer=decision.reviewer
        )

    @approve.validator
    def _approve_allowed(self, decision: ReviewDecision) -> None:
        self._review.refuse_unless_open(self._request.order_id, self._cancel_requested)

    @reject.validator
    def _reject_allowed(self, decision: ReviewDecision) -> None:
        self._review.refuse_unless_open(self._request.order_id, self._cancel_requested)

    def _cancelled_late(self) -> None:
        """A Temporal cancel while an undo, the pivot or a publish runs: recorded, not obeyed."""
        self._cancel_requested = True
        if self._saga.pivot_passed:
            self._progress.record("cancel", "too late", "through Temporal, past the pivot")
        else:
            self._progress.record("cancel", "not needed", "through Temporal; already undoing")

    # Running a step --------------------------------------------------------------------------

    async def _forward(
        self,
        name: str,
        activity: Callable[[Any, Any], Any],
        command: object,
        undo: Compensation | None,
        policy: StepPolicy,
    ) -> Any:
        """Run a step before the pivot, racing it against a cancel request.

        Its compensation (none for a step without effects) is pushed when the step succeeded,
        and also when its outcome is unknown (cancelled mid-flight, timed out): compensations
        tolerate an effect that never happened, and the services void a late effect that
        arrives after its undo.
        """
        self._stop_if_cancelled()
        handle = self._start(name, activity, command, policy)
        cancel_requested = asyncio.ensure_future(
            workflow.wait_condition(lambda: self._cancel_requested)
        )
        try:
            await workflow.wait([handle, cancel_requested], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Temporal's cancel lands here, even when the step's result arrived in the same
            # activation: the step may have taken effect, so it is undone like the others.
            self._cancelled_through_temporal = self._cancel_requested = True
            self._progress.record("cancel", "requested", "through Temporal")
            await self._interrupt(name, handle, undo, CANCELLED_THROUGH_TEMPORAL)
        finally:
            cancel_requested.cancel()
        if not handle.done():
            await self._interrupt(name, handle, undo, CANCELLED_BY_CUSTOMER)
        try:
            result = handle.result()
        except STEP_FAILED as err:
            failure = business_failure(err)
            if failure is None:
                self._undo_later(undo)  # gave up: the effect may have happened
                failure = Failure(code=f"{name}_failed", message=describe(err))
            self._progress.record(name, "failed", failure.message)
            raise OrderNotPlaced(OrderState.FAILED, failure) from err
        self._progress.record(name, "succeeded")
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
        # A cancelled local activity may end in a bare failure, not wrapped in ActivityError.
        with suppress(FailureError, asyncio.CancelledError):
            await handle
        self._undo_later(undo)
        self._progress.record(name, "interrupted", "cancel requested")
        raise OrderNotPlaced(OrderState.CANCELLED, reason)

    def _local_steps(self) -> bool:
        return workflow.patched(LOCAL_STEPS_PATCH)

    def _undo_later(self, undo: Compensation | None) -> None:
        if undo is not None:
            self._saga.on_failure(undo)

    def _stop_if_cancelled(self) -> None:
        if self._cancel_requested:
            raise OrderNotPlaced(OrderState.CANCELLED, CANCELLED_BY_CUSTOMER)

    async def _onward(
        self,
        name: str,
        activity: Callable[[Any, Any], Any],
        command: object,
        policy: StepPolicy = ONWARD,
    ) -> Any:
        """Run a step that must complete: retried until it succeeds, never cancelled."""
        try:
            work = self._start(name, activity, command, policy)
            result = await uninterruptible(work, self._cancelled_late)
        except STEP_FAILED as err:
            self._progress.record(name, "failed", describe(err))
            # A refusal here cannot be undone: fail loudly for an operator, never silently.
            raise ApplicationError(
                f"{name} was refused after the order passed its pivot: {describe(err)}",
                type="OnwardStepRefused",
                non_retryable=True,
            ) from err
        self._progress.record(name, "succeeded")
        return result

    def _start(
        self,
        name: str,
        activity: Callable[[Any, Any], Any],
        command: object,
        policy: StepPolicy,
    ) -> "workflow.ActivityHandle[Any]":
        # The patch is decided at the first step and holds for the whole run.
        if policy.local and workflow.patched(LOCAL_STEPS_PATCH):
            return workflow.start_local_activity_method(
                activity,
                command,
                start_to_close_timeout=policy.start_to_close,
                schedule_to_close_timeout=policy.schedule_to_close,
                retry_policy=policy.retry,
                local_retry_threshold=policy.local_retry_threshold,
                summary=summaries.step(name, command),
            )
        return workflow.start_activity_method(
            activity,
            command,
            start_to_close_timeout=policy.start_to_close,
            schedule_to_close_timeout=policy.schedule_to_close,
            retry_policy=policy.retry,
            summary=summaries.step(name, command),
        )

    # Undoing ---------------------------------------------------------------------------------

    def _compensation(self, name: str) -> Compensation:
        """How to undo a step, by name: its command derives from the request and the workflow
        id alone, so a run continued as new rebuilds it with the same idempotency key."""
        activity, command = compensations.undo_command(name, self._request.order_id, self._key)

        async def compensate() -> None:
            await compensations.run_round(activity, command, summaries.undo(name, self._request))
            self._progress.record(name, "compensated")
            if self._needs_operator is not None:
                self._needs_operator = None
                self._set_state(self._state)

        return Compensation(name, compensate)

    def _compensation_failed(self, name: str, round_: int, error: BaseException) -> None:
        detail = f"round {round_} failed: {describe(error)}"
        self._progress.record(name, "compensation retrying", detail)
        self._rounds_this_run += 1
        flag = compensations.needs_operator(
            name, round_, error, self._request.order_id, flagged=self._needs_operator is not None
        )
        if flag is not None:
            self._needs_operator = flag
            visibility.show_needs_operator(self.status())

    async def _pause_between_rounds(self, round_: int) -> None:
        """Wait before the next round, or continue as new once this run has had enough."""
        if compensations.run_is_full(self._rounds_this_run):
            await compensations.continue_as_new(self._carried)
        await workflow.sleep(compensation_pause(round_))

    def _carried(self) -> CarriedSaga:
        assert self._failure is not None  # only compensating runs continue as new
        return CarriedSaga(
            request=self._request,
            outcome=self._stopped_as,
            failure=self._failure,
            pending=self._saga.pending(),
            compensated=self._compensated,
            steps=self._progress.carried(),
            rounds=self._saga.rounds,
            cancel_requested=self._cancel_requested,
            needs_operator=self._needs_operator,
        )

    # Bookkeeping -----------------------------------------------------------------------------

    def _index_order(self) -> None:
        visibility.index_order(self._request, self.status())

    def _set_state(self, state: OrderState) -> None:
        self._state = state
        visibility.show_state(self.status())

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
            compensated=list(self._compensated),
        )
