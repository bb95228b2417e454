"""Manual review on Temporal's time-skipping test server: an order above the review threshold
waits before its charge for a reviewer; approved it completes, rejected or left undecided for
the whole window it is undone, and a cancel while it waits undoes it as a cancel does."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from contracts.money import Currency
from contracts.order import OrderRequest, OrderState
from contracts.review import ReviewDecision
from podium.client import (
    cancel_order,
    order_handle,
    order_status,
    place_order,
    wait_for_outcome,
    wait_for_state,
)
from podium.review import ReviewRefused, approve_order, reject_order
from services.risk import DEFAULT_REVIEW_WINDOW
from tests.support.factories import an_order
from tests.support.shop import Shop
from workflows.visibility import ORDER_STATUS

LARGE = Decimal("1500.00")  # above the default review threshold (1000)


def a_large_order(**overrides: object) -> OrderRequest:
    return an_order(
        items=[{"sku": "MUG-BLUE", "quantity": 1, "unit_price": str(LARGE)}], **overrides
    )


def outcomes(steps: list, outcome: str) -> list[str]:
    return [s.step for s in steps if s.outcome == outcome]


async def placed_awaiting_review(shop: Shop, order: OrderRequest) -> None:
    """Place the order as `podium place` does: the answer comes at once, not after the review."""
    answer = await place_order(shop.client, order, shop.task_queue)
    assert answer.state == OrderState.AWAITING_REVIEW
    assert not answer.confirmed and answer.failure is None


async def test_an_approved_order_is_charged_and_completes(shop: Shop) -> None:
    order = a_large_order()
    async with shop.worker():
        await placed_awaiting_review(shop, order)
        waiting = await order_status(shop.client, order.order_id)
        indexed = (
            await order_handle(shop.client, order.order_id).describe()
        ).typed_search_attributes
        assert shop.payments.charges() == []  # nothing charged while it waits
        reviewed = await approve_order(
            shop.client, order.order_id, reviewer="grace", reason="known customer"
        )
        result = await wait_for_outcome(shop.client, order.order_id)
        status = await order_status(shop.client, order.order_id)

    assert waiting.state == OrderState.AWAITING_REVIEW
    assert waiting.review is not None and "above 1000" in waiting.review.reason
    assert waiting.review.deadline - waiting.steps[-1].at == DEFAULT_REVIEW_WINDOW
    assert indexed.get(ORDER_STATUS) == "AWAITING_REVIEW"
    assert reviewed.decision == "approved" and reviewed.reviewer == "grace"
    assert result.state == OrderState.COMPLETED
    assert status.review is None
    [approved] = [s for s in status.steps if s.step == "review" and s.outcome == "approved"]
    assert approved.detail == "by grace: known customer"
    assert outcomes(status.steps, "succeeded")[-3:] == [
        "charge_payment",
        "confirm_order",
        "publish_event",
    ]
    assert shop.payments.captured_total(Currency.EUR) == LARGE


async def test_a_rejected_order_is_undone_with_the_reviewers_reason(shop: Shop) -> None:
    order = a_large_order()
    async with shop.worker():
        await placed_awaiting_review(shop, order)
        await reject_order(shop.client, order.order_id, reviewer="grace", reason="stolen card")
        result = await wait_for_outcome(shop.client, order.order_id)
        status = await order_status(shop.client, order.order_id)
        with pytest.raises(ReviewRefused, match="already finished"):
            await approve_order(shop.client, order.order_id, reviewer="ada", reason="too late")

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "review_rejected"
    assert result.failure.message == "rejected in review by grace: stolen card"
    assert outcomes(status.steps, "rejected") == ["review"]
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.payments.charges() == []
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert event.failure.code == "review_rejected"  # type: ignore[union-attr]


async def test_an_order_nobody_reviews_is_rejected_when_its_window_ends(
    shop: Shop, time_skipping_env: WorkflowEnvironment
) -> None:
    order = an_order(payment_token="tok_review")  # flagged by the screen's rules
    async with shop.worker():
        await placed_awaiting_review(shop, order)
        async with time_skipping_env.time_skipping_unlocked():  # type: ignore[attr-defined]
            result = await wait_for_outcome(shop.client, order.order_id)
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "review_timeout"
    assert "within 24 h" in result.failure.message
    [awaiting] = [s for s in status.steps if s.outcome == "awaiting"]
    [timed_out] = [s for s in status.steps if s.outcome == "timed out"]
    assert timed_out.at - awaiting.at >= DEFAULT_REVIEW_WINDOW - timedelta(seconds=1)
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100


async def test_a_customer_cancel_while_awaiting_review_undoes_the_order(shop: Shop) -> None:
    order = a_large_order()
    async with shop.worker():
        await placed_awaiting_review(shop, order)
        accepted = await cancel_order(shop.client, order.order_id)
        result = await wait_for_outcome(shop.client, order.order_id)
        status = await order_status(shop.client, order.order_id)

    assert accepted.accepted and accepted.state == OrderState.AWAITING_REVIEW
    assert result.state == OrderState.CANCELLED
    assert result.failure is not None and result.failure.code == "cancelled"
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.payments.charges() == []


async def test_a_temporal_cancel_while_awaiting_review_undoes_it_and_ends_canceled(
    shop: Shop,
) -> None:
    order = a_large_order()
    async with shop.worker():
        await placed_awaiting_review(shop, order)
        handle = order_handle(shop.client, order.order_id)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        status = await order_status(shop.client, order.order_id)
        description = await handle.describe()

    assert isinstance(raised.value.cause, CancelledError)
    assert description.status == WorkflowExecutionStatus.CANCELED
    assert status.state == OrderState.CANCELLED
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100


async def test_a_decision_is_refused_unless_the_order_awaits_review(shop: Shop) -> None:
    ordinary = an_order(payment_token="tok_transient_1000")  # never flagged; in its charge
    large = a_large_order()
    async with shop.worker():
        await place_order(shop.client, ordinary, shop.task_queue, wait="started")
        await wait_for_state(shop.client, ordinary.order_id, OrderState.RESERVED)
        with pytest.raises(ReviewRefused, match="is not awaiting review"):
            await approve_order(shop.client, ordinary.order_id, reviewer="ada", reason="ok")
        await placed_awaiting_review(shop, large)
        await approve_order(shop.client, large.order_id, reviewer="ada", reason="ok")
        with pytest.raises(ReviewRefused, match="already approved by ada"):
            await reject_order(shop.client, large.order_id, reviewer="bob", reason="no")
        await wait_for_outcome(shop.client, large.order_id)
        await cancel_order(shop.client, ordinary.order_id)
        await wait_for_outcome(shop.client, ordinary.order_id)


@pytest.mark.parametrize(
    ("reviewer", "reason"),
    [
        ("", "fine"),
        ("x" * 65, "fine"),
        ("grace smith", "fine"),
        ("grace", ""),
        ("grace", "   "),
        ("grace", "a" * 501),
        ("grace", "line one\nline two"),
        ("grace", "bell\x07"),
        ("grace", "line\u2028separator"),
        ("grace", "\u202egnp.exe"),
        ("grace", "next\x85line"),
    ],
)
def test_a_decision_is_bounded_and_on_one_line(reviewer: str, reason: str) -> None:
    with pytest.raises(ValidationError):
        ReviewDecision(reviewer=reviewer, reason=reason)
