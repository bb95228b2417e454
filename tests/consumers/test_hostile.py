"""A consumer never stalls on one message: oversized bodies are refused unread, a slow handler
is cut off and retried, hostile headers are clamped, and the event loop stays free meanwhile.
Raw messages go through RabbitMQ's management HTTP API, as outside tools send them."""

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from activities.publisher import EventPublisher
from consumers.runtime import headers as h
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from contracts.events import OrderCompletedV1
from infra.stack import LocalStack
from tests.support.consumers import (
    completed,
    consumer_count,
    count,
    dead_letters,
    effects_consumer,
    publish_via_management,
    store_of,
)
from tests.support.servers import RETRY_DELAYS_MS
from tests.support.waits import eventually, until
from workers.bootstrap import running_consumers
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
    settings: Settings, stack: LocalStack
) -> None:
    settings = settings.model_copy(update={"consumer_max_body_bytes": 50_000})
    consumer = effects_consumer("sized")
    store = store_of(settings, consumer)
    huge = completed().model_dump(mode="json") | {"padding": "a" * 200_000}
    good = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publish_via_management(
            stack,
            settings,
            json.dumps(huge).encode(),
            OrderCompletedV1.ROUTING_KEY,
            {"message_id": huge["event_id"]},
        )
        await publish_via_management(
            stack,
            settings,
            _body(good),
            OrderCompletedV1.ROUTING_KEY,
            {"message_id": good.event_id},
        )
        dead = await dead_letters(settings, "sized", 1)
        await until(lambda: count(store, "SELECT count(*) FROM effects") == 1, what="good")
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
    settings: Settings, stack: LocalStack, attempt: Any, expected: int
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
            stack,
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
    settings: Settings, stack: LocalStack
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
                stack,
                settings,
                _body(event),
                OrderCompletedV1.ROUTING_KEY,
                {"message_id": event.event_id},
            )
        await until(lambda: len(done_at) == 6, within=15, what="all effects")
        await asyncio.sleep(2)  # the hung thread finishes meanwhile
    effects = store.read(lambda c: [r[0] for r in c.execute("SELECT event_id FROM effects")])
    assert sorted(effects) == sorted(e.event_id for e in [slow, *others])  # each once
    assert all(done_at[e.event_id] - sent < 1.5 for e in others)
    assert done_at[slow.event_id] - sent > 0.5 + RETRY_DELAYS_MS[0] / 1000  # after a retry
    assert lag.worst < 0.2


STUCK_CONSUMER = """
import asyncio, time
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from consumers.runtime.runner import run_until_signalled
from contracts.events import OrderCompletedV1
from workers.bootstrap import runtime_options
from workers.runtime.settings import Settings

def handle(event, tx):
    if event.order.customer_id == "cust-stuck":
        open(event.order.order_id, "w").close()
        time.sleep(3600)  # a handler stuck on a poison message
    tx.execute("INSERT INTO effects VALUES (?)", (event.event_id,))

consumer = Consumer("stuck", (OrderCompletedV1,), handle, "CREATE TABLE effects (event_id TEXT);")
asyncio.run(run_until_signalled([consumer], runtime_options(Settings())))
"""


async def test_a_stuck_handler_does_not_hold_up_other_messages_or_sigterm(
    settings: Settings, publisher: EventPublisher, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PODIUM_AMQP_URL": settings.amqp_url,
        "PODIUM_EXCHANGE": settings.exchange,
        "PODIUM_CONSUMER_QUEUE_PREFIX": settings.consumer_queue_prefix,
        "PODIUM_CONSUMER_RETRY_DELAYS_MS": json.dumps([60_000]),
        "PODIUM_DATA_DIR": str(settings.data_dir),
        "PODIUM_CONSUMER_HANDLER_TIMEOUT_SECONDS": "1",
        "PODIUM_CONSUMER_CONCURRENCY": "1",
        "PODIUM_CONSUMER_METRICS_PORT": "0",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STUCK_CONSUMER, env=env, cwd=tmp_path
    )
    queue = TopologyOptions(queue_prefix=settings.consumer_queue_prefix).queue("stuck")
    try:
        await wait_until_consuming(settings, queue)
        stuck, other = completed(customer_id="cust-stuck"), completed()
        await publisher.publish(stuck)
        await publisher.publish(other)
        await until(lambda: (tmp_path / stuck.order.order_id).exists(), what="stuck")
        store = store_of(settings, effects_consumer("stuck"))
        # One slot only: the other event passes once the stuck one's time limit frees it.
        await until(
            lambda: count(store, "SELECT count(*) FROM effects") == 1, within=5, what="other"
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def wait_until_consuming(settings: Settings, queue: str) -> None:
    async def consumers() -> int:
        with contextlib.suppress(Exception):
            return await consumer_count(settings, queue)
        return 0

    await eventually(consumers, lambda n: n == 1, 15, what="the consumer process to consume")


async def test_a_message_that_always_hangs_its_handler_is_dead_lettered_not_an_outage(
    settings: Settings, publisher: EventPublisher
) -> None:
    settings = settings.model_copy(
        update={"consumer_handler_timeout_seconds": 0.3, "consumer_breaker_threshold": 2}
    )
    base = effects_consumer("hangs")

    async def downstream(event: Any, store: Any) -> None:
        if event.order.customer_id == "cust-poison":
            await asyncio.to_thread(time.sleep, 1)

    consumer = Consumer("hangs", base.events, base.handle, base.schema, downstream)
    poison, good = completed(customer_id="cust-poison"), completed()
    async with running_consumers(settings, consumers=[consumer]) as runner:
        await publisher.publish(poison)
        await publisher.publish(good)
        dead = await dead_letters(settings, "hangs", 1, within=10)
        assert runner.loops["hangs"].breaker.state == "closed"
    assert [d.message_id for d in dead] == [poison.event_id]
    assert dead[0].reason == "retries exhausted: HandlerTimedOut: over its time limit of 0.3s"
