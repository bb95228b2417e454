"""Poison messages go to the dead-letter queue with a reason; transient failures are retried."""

import itertools
import json
import threading
import time
from typing import Any

import pytest

from activities.publisher import EventPublisher
from consumers import loyalty
from consumers.runtime import dlq
from consumers.runtime.definition import Consumer
from consumers.runtime.dlq import list_dead_letters, replay
from consumers.runtime.outcomes import DeadLetter, RetryLater
from contracts.events import OrderCompletedV1
from podium.cli.consumers import loyalty_points
from tests.support.consumers import (
    completed,
    count,
    dead_letters,
    effects_consumer,
    publish_raw,
    store_of,
)
from tests.support.servers import RETRY_DELAYS_MS
from tests.support.waits import until
from workers.bootstrap import running_consumers, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def _failing(name: str, fail: Any) -> tuple[Consumer, list[float]]:
    """A consumer whose handler calls `fail(attempt)` before its effect; records call times."""
    base = effects_consumer(name)
    calls: list[float] = []
    lock = threading.Lock()

    def handle(event: Any, tx: Any) -> None:
        with lock:
            calls.append(time.monotonic())
            attempt = len(calls)
        fail(attempt)
        base.handle(event, tx)

    return Consumer(name, base.events, handle, base.schema), calls


async def test_poison_messages_are_dead_lettered_with_a_reason_and_do_not_block_the_queue(
    settings: Settings, publisher: EventPublisher
) -> None:
    good = completed(customer_id="cust-poison")
    unknown_version = good.model_dump(mode="json") | {"version": 2}
    async with running_consumers(settings, names=["loyalty"]):
        await publish_raw(settings, b"{not json", OrderCompletedV1.ROUTING_KEY, "bad-json")
        await publish_raw(settings, b'["a", "list"]', OrderCompletedV1.ROUTING_KEY, "a-list")
        await publish_raw(
            settings, json.dumps(unknown_version).encode(), OrderCompletedV1.ROUTING_KEY, "v2"
        )
        await publisher.publish(good)
        await until(lambda: _points(settings) == 34, what="good event after poison")
        dead = await dead_letters(settings, "loyalty", 3)
        again = await list_dead_letters(runtime_options(settings), "loyalty")

    by_id = {d.message_id: d for d in dead}
    assert set(by_id) == {"bad-json", "a-list", "v2"}
    assert "not JSON" in by_id["bad-json"].reason
    assert by_id["a-list"].reason == "body is not a JSON object"
    assert "version 2 is unknown" in by_id["v2"].reason
    assert by_id["v2"].routing_key == "order.completed.v1"
    assert by_id["bad-json"].body_preview == b"{not json"
    assert by_id["v2"].attempts == 0
    assert {d.message_id for d in again} == set(by_id)  # listing loses nothing
    assert await loyalty_points(settings, "cust-poison") == 34
    with pytest.raises(dlq.UnknownIds):
        await replay(runtime_options(settings), "loyalty", ["no-such-id", "v2"])
    assert (
        len(await list_dead_letters(runtime_options(settings), "loyalty")) == 3
    )  # an unknown id moves nothing


def _points(settings: Settings) -> int:
    return loyalty.points(store_of(settings, loyalty.CONSUMER), "cust-poison")


async def test_a_rejected_message_is_replayed_from_the_dead_letters_once_the_handler_is_fixed(
    settings: Settings, publisher: EventPublisher
) -> None:
    broken = threading.Event()
    broken.set()

    def fail(attempt: int) -> None:
        if broken.is_set():
            raise DeadLetter("the shipping API rejects this address")

    consumer, calls = _failing("picky", fail)
    options = runtime_options(settings)
    store = store_of(settings, consumer)
    event, other = completed(), completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(event)
        await until(lambda: len(calls) == 1, what="first delivery")
        dead = await dead_letters(settings, "picky", 1)
        assert [d.message_id for d in dead] == [event.event_id]
        assert dead[0].reason == "the shipping API rejects this address"
        assert len(calls) == 1  # a rejection is not retried
        await publisher.publish(other)
        await until(lambda: len(calls) == 2, what="second event")

        broken.clear()
        assert await dlq.replay(options, "picky", [event.event_id]) == 1
        await until(lambda: count(store, "SELECT count(*) FROM effects") == 1)
        remaining = await dlq.list_dead_letters(options, "picky")

    assert [d.message_id for d in remaining] == [other.event_id]
    assert store.read(lambda c: c.execute("SELECT event_id FROM effects").fetchall())[0][0] == (
        event.event_id
    )


async def test_a_handler_failing_twice_transiently_is_retried_with_growing_delays(
    settings: Settings, publisher: EventPublisher
) -> None:
    def fail(attempt: int) -> None:
        if attempt <= 2:
            raise RetryLater("the points API is busy")

    consumer, calls = _failing("flaky", fail)
    store = store_of(settings, consumer)
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(completed())
        await until(lambda: count(store, "SELECT count(*) FROM effects") == 1)

    assert len(calls) == 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    for gap, delay_ms in zip(gaps, RETRY_DELAYS_MS, strict=True):
        assert delay_ms / 1000 * 0.9 <= gap < delay_ms / 1000 + 1.5, gaps
    assert count(store, "SELECT count(*) FROM processed_events") == 1


async def test_an_unexpected_error_is_retried_then_dead_lettered_when_retries_run_out(
    settings: Settings, publisher: EventPublisher
) -> None:
    def fail(attempt: int) -> None:
        raise ValueError(f"bug on attempt {attempt}")

    consumer, calls = _failing("buggy", fail)
    event = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(event)
        await until(lambda: len(calls) == 1 + len(RETRY_DELAYS_MS), what="retries")
        dead = await dead_letters(settings, "buggy", 1)

    assert len(calls) == 1 + len(RETRY_DELAYS_MS)
    assert [d.message_id for d in dead] == [event.event_id]
    assert dead[0].attempts == len(RETRY_DELAYS_MS)
    assert dead[0].reason == "retries exhausted: ValueError: bug on attempt 3"
    assert dead[0].routing_key == "order.completed.v1"
    with pytest.raises(dlq.UnknownIds):
        await dlq.replay(runtime_options(settings), "buggy", ["no-such-id"])
    assert len(await dlq.list_dead_letters(runtime_options(settings), "buggy")) == 1
