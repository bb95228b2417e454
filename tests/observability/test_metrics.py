"""Workers and consumers expose Prometheus metrics; scraped here after real traffic."""

import asyncio
import time
import urllib.request
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from activities.publisher import EventPublisher
from adapters.sql import Transaction
from consumers.runtime.definition import Consumer
from consumers.runtime.metrics import metrics_endpoint
from consumers.runtime.outcomes import DeadLetter, RetryLater
from contracts.events import OrderCompletedV1
from contracts.order import OrderState
from infra.stack.ports import free_port
from podium.client import place_order
from tests.support.consumers import completed, effects_consumer
from tests.support.factories import an_order
from workers.bootstrap import running_consumers, running_worker
from workers.runtime.metrics import temporal_runtime
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration


async def _scrape(port: int) -> str:
    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    return await asyncio.to_thread(get)


def _samples(text: str) -> dict[tuple[str, str], float]:
    """(sample name, consumer label) -> value."""
    return {
        (sample.name, sample.labels.get("consumer", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _flaky(name: str) -> Consumer:
    """Fails each event's first delivery, then applies it."""
    seen: set[str] = set()

    def handle(event: Any, tx: Transaction) -> None:
        if event.event_id not in seen:
            seen.add(event.event_id)
            raise RetryLater("not yet")

    return Consumer(name, (OrderCompletedV1,), handle)


def _poison(name: str) -> Consumer:
    def handle(event: Any, tx: Transaction) -> None:
        raise DeadLetter("cannot ever handle this")

    return Consumer(name, (OrderCompletedV1,), handle)


async def test_consumer_outcomes_and_latency_are_counted_per_consumer(settings: Settings) -> None:
    uid = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "exchange": f"orders-{uid}",
            "consumer_queue_prefix": f"m{uid}",
            "consumer_retry_delays_ms": [100],
        }
    )
    ok, flaky, poison = f"ok{uid}", f"flaky{uid}", f"poison{uid}"
    consumers = [effects_consumer(ok), _flaky(flaky), _poison(poison)]
    first, second = completed(), completed()
    port = free_port()
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=5)
    with metrics_endpoint("127.0.0.1", port):
        async with running_consumers(settings, consumers=consumers):
            for event in (first, first, second):  # the repeat is a duplicate delivery
                await publisher.publish(event)
            await publisher.close()
            expected = {
                ("podium_consumer_processed_total", ok): 2,
                ("podium_consumer_duplicates_total", ok): 1,
                ("podium_consumer_handling_seconds_count", ok): 3,
                ("podium_consumer_retried_total", flaky): 2,
                ("podium_consumer_processed_total", flaky): 2,
                ("podium_consumer_dead_lettered_total", poison): 3,  # never processed: no dedup
                ("podium_consumer_processed_total", poison): 0,
            }
            deadline = time.monotonic() + 15
            while True:
                samples = _samples(await _scrape(port))
                seen = {key: samples.get(key, 0) for key in expected}
                if seen == expected or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
    assert seen == expected
    assert samples[("podium_consumer_handling_seconds_sum", ok)] > 0


async def test_the_worker_serves_temporal_sdk_metrics(
    settings: Settings,
    event_tap: object,
) -> None:
    settings = settings.model_copy(update={"metrics_port": free_port()})
    runtime = temporal_runtime(settings)
    assert runtime is not None
    client: Client = await connect_temporal(settings, runtime=runtime)
    async with running_worker(client, settings):
        result = await place_order(client, an_order(), settings.task_queue, wait="outcome")
    assert result.state == OrderState.COMPLETED
    text = await _scrape(settings.metrics_port)
    assert "temporal_workflow_completed" in text
    assert 'activity_type="charge_payment"' in text


def test_metrics_are_off_when_the_port_is_zero() -> None:
    assert temporal_runtime(Settings(_env_file=None, metrics_port=0)) is None  # type: ignore[call-arg]
