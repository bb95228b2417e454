"""Every line of an order names it, and no line carries the customer's personal data."""

import asyncio
import io
import json
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs
from temporalio import activity
from temporalio.worker import Worker

from activities.steps import PaymentActivities
from contracts.order import OrderState
from contracts.steps import Charge, ChargePayment, Published, PublishEvent
from podium.client import place_order
from tests.support.factories import an_order
from tests.support.shop import Shop
from workers.runtime.logging import (
    REDACTED,
    add_trace_context,
    configure_logging,
    final_processors,
    formatter,
    redact_personal_data,
)

log = structlog.get_logger(__name__)

PERSONAL = ["ada@example.com", "Ada Lovelace", "St James", "SW1Y 4JH", "tok_"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"event": "x", "email": "ada@example.com"}, {"event": "x", "email": REDACTED}),
        ({"event": "x", "payment_token": "tok_visa"}, {"event": "x", "payment_token": REDACTED}),
        ({"event": "mail to ada@example.com"}, {"event": f"mail to {REDACTED}"}),
        (
            {"event": "x", "error": "tok_declined refused"},
            {"event": "x", "error": f"{REDACTED} refused"},
        ),
        (
            {"event": "x", "order": {"order_id": "o-1", "shipping_address": {"line1": "1 Road"}}},
            {"event": "x", "order": {"order_id": "o-1", "shipping_address": REDACTED}},
        ),
        (
            {"event": "x", "lines": [{"name": "Ada", "sku": "MUG"}]},
            {"event": "x", "lines": [{"name": REDACTED, "sku": "MUG"}]},
        ),
        (
            {"event": "x", "order_id": "o-1", "attempt": 2},
            {"event": "x", "order_id": "o-1", "attempt": 2},
        ),
    ],
)
def test_personal_data_is_masked(event: dict[str, Any], expected: dict[str, Any]) -> None:
    assert redact_personal_data(None, "info", event) == expected


def test_a_pydantic_model_is_logged_without_its_personal_fields() -> None:
    masked = redact_personal_data(None, "info", {"event": "x", "request": an_order(order_id="o-9")})
    text = json.dumps(masked)
    assert "o-9" in text
    assert not [p for p in PERSONAL if p in text]


def test_stdlib_exception_text_is_redacted(
    stdlib_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    try:
        raise ValueError("card tok_visa of ada@example.com refused")
    except ValueError:
        logging.getLogger("some.library").exception("charge failed for ada@example.com")
    (line,) = stdlib_lines()
    assert line["event"] == f"charge failed for {REDACTED}"
    assert "ValueError" in line["exception"]
    assert not [p for p in PERSONAL if p in json.dumps(line)]


async def test_an_orders_log_lines_carry_its_id_and_no_personal_data(
    shop: Shop,
    stdlib_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    completed, declined = an_order(), an_order(payment_token="tok_declined")
    # Production's chain minus the stdlib-only steps (capture_logs has no stdlib logger).
    processors = [structlog.contextvars.merge_contextvars, add_trace_context, *final_processors()]
    with capture_logs(processors=processors) as structlog_lines:
        async with _worker(shop), asyncio.timeout(60):
            assert (
                await place_order(shop.client, completed, shop.task_queue, wait="outcome")
            ).state == (OrderState.COMPLETED)
            assert (
                await place_order(shop.client, declined, shop.task_queue, wait="outcome")
            ).state == (OrderState.FAILED)
    lines = stdlib_lines()

    everything = json.dumps(structlog_lines, default=str) + json.dumps(lines, default=str)
    assert not [p for p in PERSONAL if p in everything]

    for order in (completed, declined):
        mine = [line for line in structlog_lines if line.get("workflow_id") == order.workflow_id]
        # Sync activities (charge, in a thread) and async ones (publish) both carry the context.
        assert {line["activity"] for line in mine} == {"charge_payment", "publish_event"}
        for line in mine:
            assert line["order_id"] == order.order_id
            assert line["run_id"] and line["attempt"] >= 1

    order_loggers = ("temporalio.workflow", "temporalio.activity")  # the SDK's per-order lines
    from_temporal = [line for line in lines if line["logger"] in order_loggers]
    order_ids = {line.get("order_id") for line in from_temporal}
    assert order_ids == {completed.order_id, declined.order_id}
    steps = {(line["order_id"], line.get("step"), line.get("outcome")) for line in from_temporal}
    assert (completed.order_id, "publish_event", "succeeded") in steps
    assert (declined.order_id, "charge_payment", "failed") in steps
    assert (declined.order_id, "release_stock", "compensated") in steps


@asynccontextmanager
async def _worker(shop: Shop) -> AsyncIterator[Worker]:
    """The shop's worker, two of its activities logging personal data."""
    payments = PaymentActivities(shop.payments)

    @activity.defn(name="charge_payment")
    def charge_payment(command: ChargePayment) -> Charge:
        log.info("charging card", payment_token=command.payment_token, email="ada@example.com")
        return payments.charge_payment(command)

    @activity.defn(name="publish_event")
    async def publish_event(command: PublishEvent) -> Published:
        log.info(f"publishing for {command.event.order.email}", order_event=command.event)
        await shop.publisher.publish(command.event)
        return Published(event_id=command.event.event_id, routing_key=command.event.ROUTING_KEY)

    async with shop.worker(charge_payment, publish_event) as worker:
        yield worker


@pytest.fixture
def stdlib_lines(
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Standard-library records (the Temporal SDK's included) rendered as production does."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json_output=True))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_lines_go_to_the_stderr_of_the_moment_not_a_closed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redirect or a test's capture swaps sys.stderr and closes the old one: later lines, from
    any thread, go to the new one instead of each printing a "Logging error" traceback."""
    first, second = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored afterwards
    monkeypatch.setattr(root, "level", root.level)
    kept = structlog.get_config()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", "json")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    done = threading.Thread(target=lambda: logging.getLogger("podium.test").info("after the swap"))
    done.start()
    done.join()
    assert "after the swap" in second.getvalue()
    assert "Logging error" not in second.getvalue()
    structlog.configure(**kept)
