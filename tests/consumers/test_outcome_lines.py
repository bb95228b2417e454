"""Each event a consumer handles ends in one INFO line: its order, type, outcome and time."""

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from activities.publisher import EventPublisher
from consumers.runtime.definition import Consumer
from consumers.runtime.outcomes import DeadLetter, RetryLater
from tests.support.consumers import completed, count, dead_letters, effects_consumer, store_of
from tests.support.waits import until
from workers.bootstrap import running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def handled_lines(
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The "event handled" lines, with the log context merged in as production does."""
    caplog.set_level(logging.INFO)  # the line is skipped when INFO is off, as in production
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        yield lambda: [line for line in lines if line["event"] == "event handled"]


def _scripted(name: str) -> tuple[Consumer, list[str]]:
    """A consumer that refuses a customer's events: `retry-once` once, `poison` for good."""
    base = effects_consumer(name)
    seen: list[str] = []
    lock = threading.Lock()

    def handle(event: Any, tx: Any) -> None:
        customer = event.order.customer_id
        with lock:
            seen.append(customer)
            tries = seen.count(customer)
        if customer == "poison":
            raise DeadLetter("refused for good")
        if customer == "retry-once" and tries == 1:
            raise RetryLater("the points API is busy")
        base.handle(event, tx)

    return Consumer(name, base.events, handle, base.schema), seen


async def test_each_event_logs_one_info_line_with_order_type_outcome_and_ms(
    settings: Settings,
    publisher: EventPublisher,
    handled_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    consumer, _ = _scripted("scripted")
    store = store_of(settings, consumer)
    plain, flaky, poison = (
        completed(customer_id=c) for c in ("cust-plain", "retry-once", "poison")
    )
    async with running_consumers(settings, consumers=[consumer]):
        for event in (plain, flaky, poison):
            await publisher.publish(event)
        await publisher.publish(plain)  # the broker may deliver twice: a duplicate
        await until(lambda: count(store, "SELECT count(*) FROM effects") == 2)
        await dead_letters(settings, "scripted", 1)
        await until(lambda: len(handled_lines()) >= 5, what="one line per handling")

    lines = handled_lines()
    by_order: dict[str, list[str]] = {}
    for line in lines:
        assert line["log_level"] == "info"
        assert line["consumer"] == "scripted"
        assert line["event_type"] == "order.completed.v1"
        assert isinstance(line["ms"], int | float) and 0 <= line["ms"] < 10_000
        assert line["event_id"]
        by_order.setdefault(line["order_id"], []).append(line["outcome"])
    assert by_order == {
        plain.order.order_id: ["done", "duplicate"],
        flaky.order.order_id: ["retry scheduled", "done"],
        poison.order.order_id: ["dead-lettered"],
    }
    retry = next(line for line in lines if line["outcome"] == "retry scheduled")
    assert retry["detail"] == "RetryLater: the points API is busy"
