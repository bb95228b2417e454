"""The progress display's own logic: which step is current, and how a line is shown."""

import asyncio
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from temporalio.service import RPCError, RPCStatusCode

from contracts.order import NeedsOperator, OrderState, OrderStatus, StepRecord
from podium.cli import progress
from podium.cli.orders import describe_status
from podium.cli.progress import Current, Pending, ProgressLine, current, describe_current

AT = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


def _status(state: OrderState, *done: str, **extra: object) -> OrderStatus:
    steps = [StepRecord(step=s, outcome="succeeded", at=AT) for s in done]
    return OrderStatus(
        order_id="o-1",
        state=state,
        total=Decimal("25.00"),
        currency="EUR",
        steps=steps,
        **extra,  # type: ignore[arg-type]
    )


def test_the_current_step_is_the_first_not_succeeded() -> None:
    status = _status(OrderState.CREATED, "create_order")
    assert current(status, [], running=True) == Current("reserve_stock")


def test_a_retried_charge_shows_its_attempt_and_last_error() -> None:
    status = _status(OrderState.RESERVED, "create_order", "reserve_stock", "assess_risk")
    charge = Pending("charge_payment", 4, "PaymentGatewayUnavailable: down", AT)
    now = current(status, [charge], running=True)
    assert now == Current("charge_payment", 4, "PaymentGatewayUnavailable: down", AT)
    line = describe_current(now)
    assert line.startswith("charge_payment · attempt 4 · last error: PaymentGatewayUnavailable")
    assert "next attempt at " in line


def test_a_first_attempt_without_error_shows_only_the_step() -> None:
    assert describe_current(Current("charge_payment", 1)) == "charge_payment"


def test_an_undo_shows_the_pending_compensation_or_the_stuck_one() -> None:
    undoing = _status(OrderState.COMPENSATING, "create_order")
    refund = Pending("release_stock", 2, "OSError: disk", None)
    assert current(undoing, [refund], running=True).step == "release_stock"
    stuck = NeedsOperator(compensation="release_stock", rounds=7, last_error="OSError: disk")
    flagged = _status(OrderState.COMPENSATING, needs_operator=stuck)
    assert current(flagged, [], running=True) == Current("release_stock", 7, "OSError: disk")


def test_a_finished_run_has_no_current_step() -> None:
    assert current(_status(OrderState.COMPLETED), [], running=False) == Current(None)
    assert current(None, [], running=True) == Current(None)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_rewritten_in_place_and_cleared_for_the_answer() -> None:
    terminal = _Terminal()
    line = ProgressLine(terminal)
    line.show("order o-1: CREATED · reserve_stock")
    line.show("order o-1: CREATED · reserve_stock")  # unchanged: nothing written
    line.show("order o-1: RESERVED · charge_payment")
    line.clear()
    assert terminal.getvalue() == (
        "\r\033[Korder o-1: CREATED · reserve_stock"
        "\r\033[Korder o-1: RESERVED · charge_payment"
        "\r\033[K"
    )


def test_off_a_terminal_each_change_is_one_plain_line() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream)
    for text in ("a", "a", "b"):
        line.show(text)
    line.clear()
    assert stream.getvalue() == "a\nb\n"


async def test_a_cancel_the_sdk_turns_into_an_rpc_error_still_stops_the_follower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C cancels the follower while a look is in flight; the SDK can surface that cancel as
    an RPCError (CANCELLED), which the follower otherwise takes for a slow answer and polls on:
    `podium place` then never exits (seen in CI)."""
    looking = asyncio.Event()

    async def look(client: object, order_id: str) -> None:
        looking.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RPCError("cancelled", RPCStatusCode.CANCELLED, b"") from None

    monkeypatch.setattr(progress, "look", look)
    lines: list[str] = []
    follower = asyncio.create_task(progress.follow(object(), "o-1", lines.append))  # type: ignore[arg-type]
    await looking.wait()
    follower.cancel()
    done, _ = await asyncio.wait({follower}, timeout=2)
    assert follower in done and follower.cancelled()


def test_status_lines_keep_the_outcomes_in_one_column_whatever_the_step_names() -> None:
    at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    steps = [
        StepRecord(step=name, outcome=outcome, at=at)
        for name, outcome in [
            ("charge_payment", "interrupted"),
            ("cancel_unless_confirmed", "succeeded"),
            ("refund_payment", "compensated"),
        ]
    ]
    status = OrderStatus(
        order_id="o-1", state=OrderState.CANCELLED, total="1", currency="EUR", steps=steps
    )
    rows = [line for line in describe_status(status).splitlines() if "UTC  " in line]
    columns = {row.index(step.outcome) for row, step in zip(rows, steps, strict=True)}
    assert len(rows) == 3 and len(columns) == 1
