"""A consumer never stalls on one message: oversized bodies are refused unread, a slow handler
is cut off and retried, hostile headers are clamped, and the event loop stays free meanwhile.
Raw messages go through RabbitMQ's management HTTP API, as outside tools send them."""

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from consumers import headers as h
from consumers.definition import Consumer
from contracts.events import OrderCompletedV1
from tests.consumers.conftest import RETRY_DELAYS_MS, Broker
from tests.consumers.helpers import (
    completed,
    count,
    dead_letters,
    effects_consumer,
    publish_via_management,
    store_of,
    wait_until,
)
from workers.consumers_main import running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


class LoopLag:
    """The longest the event loop was kept from running a 10 ms ticker."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "LoopLag":
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)


def _body(event: OrderCompletedV1) -> bytes:
    return json.dumps(event.model_dump(mode="json")).encode()


async def test_an_oversized_body_is_dead_lettered_unread_with_the_reason(
    settings: Settings, broker: Broker
) -> None:
    settings = settings.model_copy(update={"consumer_max_body_bytes": 50_000})
    consumer = effects_consumer("sized")
    store = store_of(settings, consumer)
    huge = completed().model_dump(mode="json") | {"padding": "a" * 200_000}
    good = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publish_via_management(
            broker.stack,
            settings,
            json.dumps(huge).encode(),
            OrderCompletedV1.ROUTING_KEY,
            {"message_id": huge["event_id"]},
        )
        await publish_via_management(
            broker.stack,
            settings,
            _body(good),
            OrderCompletedV1.ROUTING_KEY,
            {"message_id": good.event_id},
        )
        dead = await dead_letters(settings, "sized", 1)
        await wait_until(lambda: count(store, "SELECT count(*) FROM effects") == 1, what="good")
    assert dead[0].reason.startswith("body of 200")
    assert dead[0].reason.endswith("bytes is over the limit of 50000 bytes")
    assert dead[0].attempts == 0


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (10**12, len(RETRY_DELAYS_MS)),  # clamped: no rungs left, dead-lettered at once
        (-5, 0),
        ("2", 2),
        ("not a number", 0),
        (True, 0),
        ([1, 2], 0),
        (len(RETRY_DELAYS_MS), len(RETRY_DELAYS_MS)),
    ],
)
async def test_a_hostile_attempt_header_is_clamped(
    settings: Settings, broker: Broker, attempt: Any, expected: int
) -> None:
    calls: list[int] = []
    base = effects_consumer("clamp")

    def handle(event: Any, tx: Any) -> None:
        calls.append(1)
        raise ValueError("always")

    consumer = Consumer("clamp", base.events, handle, base.schema)
    event = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publish_via_management(
            broker.stack,
            settings,
            _body(event),
            OrderCompletedV1.ROUTING_KEY,
            {
                "message_id": event.event_id,
                "headers": {h.ATTEMPT: attempt, h.ROUTING_KEY: "x" * 300},
            },
        )
        dead = await dead_letters(settings, "clamp", 1, within=15)
    assert len(calls) == 1 + len(RETRY_DELAYS_MS) - expected
    assert dead[0].attempts == len(RETRY_DELAYS_MS)
    assert dead[0].routing_key == OrderCompletedV1.ROUTING_KEY  # the bad header was ignored


async def test_a_handler_over_its_time_limit_is_retried_and_others_are_not_delayed(
    settings: Settings, broker: Broker
) -> None:
    settings = settings.model_copy(
        update={"consumer_handler_timeout_seconds": 0.5, "consumer_concurrency": 2}
    )
    base = effects_consumer("slowpoke")
    hung_once = threading.Event()
    done_at: dict[str, float] = {}

    async def downstream(event: Any, store: Any) -> None:
        # Like a mail server that accepts the connection and never answers: a blocking call
        # in a thread, which the time limit cannot stop, only stop waiting for.
        if event.order.customer_id == "cust-slow" and not hung_once.is_set():
            hung_once.set()
            await asyncio.to_thread(time.sleep, 2)
        done_at.setdefault(event.event_id, time.monotonic())

    consumer = Consumer("slowpoke", base.events, base.handle, base.schema, downstream)
    store = store_of(settings, consumer)
    slow = completed(customer_id="cust-slow")
    others = [completed() for _ in range(5)]
    async with running_consumers(settings, consumers=[consumer]), LoopLag() as lag:
        sent = time.monotonic()
        for event in [slow, *others]:
            await publish_via_management(
                broker.stack,
                settings,
                _body(event),
                OrderCompletedV1.ROUTING_KEY,
                {"message_id": event.event_id},
            )
        await wait_until(lambda: len(done_at) == 6, within=15, what="all effects")
        await asyncio.sleep(2)  # the hung thread finishes meanwhile
    effects = store.read(lambda c: [r[0] for r in c.execute("SELECT event_id FROM effects")])
    assert sorted(effects) == sorted(e.event_id for e in [slow, *others])  # each once
    assert all(done_at[e.event_id] - sent < 1.5 for e in others)
    assert done_at[slow.event_id] - sent > 0.5 + RETRY_DELAYS_MS[0] / 1000  # after a retry
    assert lag.worst < 0.2
