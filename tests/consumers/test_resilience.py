"""A broker restart loses nothing and applies nothing twice; shutdown finishes work in flight."""

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

import pytest

from activities.publisher import EventPublisher
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from consumers.runtime.runner import declare
from infra.stack import LocalStack
from tests.support.consumers import (
    completed,
    consumer_count,
    count,
    effects_consumer,
    ready_count,
    store_of,
)
from tests.support.waits import until
from workers.bootstrap import running_consumers, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def _slow(name: str, seconds: float, started: threading.Event | None = None) -> Consumer:
    base = effects_consumer(name)

    def handle(event: Any, tx: Any) -> None:
        if started is not None:
            started.set()
        time.sleep(seconds)
        base.handle(event, tx)

    return Consumer(name, base.events, handle, base.schema)


@pytest.mark.restartable
async def test_a_backlog_survives_a_broker_restart_and_consumers_reconnect(
    settings: Settings, publisher: EventPublisher, stack: LocalStack
) -> None:
    # Slow enough that a backlog is still queued while the broker takes seconds to stop.
    consumer = _slow("steady", 0.2)
    settings = settings.model_copy(update={"consumer_concurrency": 2, "consumer_prefetch": 2})
    store = store_of(settings, consumer)
    await declare(runtime_options(settings), [consumer])
    events = [completed() for _ in range(40)]
    for event in events:
        await publisher.publish(event)
    await publisher.close()

    def effects() -> int:
        return count(store, "SELECT count(*) FROM effects")

    async with running_consumers(settings, consumers=[consumer]):
        await until(lambda: effects() >= 3, what="first effects")
        await asyncio.to_thread(stack.rabbitmq.stop)
        during = effects()
        assert during < len(events), "the backlog was drained before the restart"
        await asyncio.to_thread(stack.rabbitmq.start)
        await until(lambda: effects() >= len(events), within=30, what="backlog")
        await asyncio.sleep(0.5)  # a duplicate would show as an extra row

    ids = store.read(lambda c: [r[0] for r in c.execute("SELECT event_id FROM effects")])
    assert sorted(ids) == sorted(e.event_id for e in events)


async def test_stopping_finishes_the_message_in_flight_and_acks_it(
    settings: Settings, publisher: EventPublisher
) -> None:
    started = threading.Event()
    consumer = _slow("graceful", 1.0, started)
    store = store_of(settings, consumer)
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(completed())
        await until(started.is_set, what="handler started")
    # The context exits only once the in-flight handler committed and its message was acked.
    assert count(store, "SELECT count(*) FROM effects") == 1
    queue = TopologyOptions(queue_prefix=settings.consumer_queue_prefix).queue("graceful")
    assert await ready_count(settings, queue) == 0


async def test_run_consumers_stops_cleanly_on_sigterm(settings: Settings) -> None:
    env = {
        **os.environ,
        "PODIUM_AMQP_URL": settings.amqp_url,
        "PODIUM_EXCHANGE": settings.exchange,
        "PODIUM_CONSUMER_QUEUE_PREFIX": settings.consumer_queue_prefix,
        "PODIUM_DATA_DIR": str(settings.data_dir),
    }
    code = (
        "import asyncio; from workers.consumer_process import serve;"
        "from workers.runtime.settings import Settings;"
        "asyncio.run(serve(Settings(), ['loyalty']))"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=env)
    queue = TopologyOptions(queue_prefix=settings.consumer_queue_prefix).queue("loyalty")
    try:
        for _ in range(200):
            with contextlib.suppress(Exception):
                if await consumer_count(settings, queue) == 1:
                    break
            await asyncio.sleep(0.05)
        assert await consumer_count(settings, queue) == 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert await consumer_count(settings, queue) == 0
