"""Deliveries that arrive together are applied in one store transaction; a failing batch falls
back to one by one, so a poison message is retried or dead-lettered alone."""

import asyncio
import dataclasses
import threading
from typing import Any

import pytest
from prometheus_client import REGISTRY

from activities.publisher import EventPublisher
from consumers.runtime.definition import Consumer
from consumers.runtime.outcomes import DeadLetter
from consumers.runtime.runner import declare, running
from infra.stack import LocalStack
from tests.support.consumers import completed, count, dead_letters, effects_consumer, store_of
from tests.support.databases import BACKENDS, on_postgres
from tests.support.waits import until
from workers.bootstrap import running_consumers, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(params=BACKENDS)
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Every test here once with the consumers' stores on SQLite, once on PostgreSQL."""
    if request.param == "postgresql":
        return on_postgres(settings, request.getfixturevalue("postgres_url"))
    return settings


def _metric(name: str, consumer: str) -> float:
    return REGISTRY.get_sample_value(name, {"consumer": consumer}) or 0.0


def _effects(store: Any) -> list[str]:
    return [
        r[0] for r in store.read(lambda c: c.execute("SELECT event_id FROM effects").fetchall())
    ]


async def _preload(
    settings: Settings, publisher: EventPublisher, consumer: Consumer, events: list[Any]
) -> None:
    """The consumer's queue holds `events` before it starts: they arrive together."""
    await declare(runtime_options(settings), [consumer])
    await asyncio.gather(*(publisher.publish(e) for e in events))


async def test_a_burst_is_applied_in_fewer_transactions_than_events_each_effect_once(
    settings: Settings, publisher: EventPublisher
) -> None:
    consumer = effects_consumer("burst")
    store = store_of(settings, consumer)
    events = [completed() for _ in range(40)]
    twice = events[5]
    batches = _metric("podium_consumer_batches_total", "burst")
    applied = _metric("podium_consumer_batch_size_sum", "burst")
    duplicates = _metric("podium_consumer_duplicates_total", "burst")
    await _preload(settings, publisher, consumer, [*events, twice])  # one event twice
    async with running_consumers(settings, consumers=[consumer]):
        await until(lambda: store.processed_count() == 40, what="the burst")
        await until(
            lambda: _metric("podium_consumer_duplicates_total", "burst") == duplicates + 1,
            what="the second copy",
        )

    transactions = _metric("podium_consumer_batches_total", "burst") - batches
    assert sorted(_effects(store)) == sorted(e.event_id for e in events)
    assert 0 < transactions < 40
    assert _metric("podium_consumer_batch_size_sum", "burst") - applied == 41


def _poisoned(name: str, poison: dict[str, Exception]) -> tuple[Consumer, dict[str, int]]:
    """An effects consumer whose handler raises poison[event_id]; counts calls per event."""
    base = effects_consumer(name)
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def handle(event: Any, tx: Any) -> None:
        with lock:
            calls[event.event_id] = calls.get(event.event_id, 0) + 1
        if event.event_id in poison:
            raise poison[event.event_id]
        base.handle(event, tx)

    return Consumer(name, base.events, handle, base.schema), calls


async def test_poison_in_a_burst_is_dead_lettered_or_retried_alone_the_rest_apply_once(
    settings: Settings, publisher: EventPublisher
) -> None:
    events = [completed() for _ in range(30)]
    rejected, failing = events[3], events[17]
    consumer, calls = _poisoned(
        "poisoned",
        {
            rejected.event_id: DeadLetter("the shipping API rejects this address"),
            failing.event_id: ValueError("a bug on this order"),
        },
    )
    store = store_of(settings, consumer)
    fallbacks = _metric("podium_consumer_batch_fallbacks_total", "poisoned")
    await _preload(settings, publisher, consumer, events)
    async with running_consumers(settings, consumers=[consumer]):
        dead = await dead_letters(settings, "poisoned", 2, within=15)
        await until(lambda: store.processed_count() == 28, what="the good events")

    by_id = {d.message_id: d for d in dead}
    assert set(by_id) == {rejected.event_id, failing.event_id}
    assert by_id[rejected.event_id].reason == "the shipping API rejects this address"
    assert by_id[rejected.event_id].attempts == 0
    assert by_id[failing.event_id].reason == "retries exhausted: ValueError: a bug on this order"
    assert by_id[failing.event_id].attempts == 2  # every rung of the ladder, alone
    good = [e.event_id for e in events if e not in (rejected, failing)]
    assert sorted(_effects(store)) == sorted(good)  # each once, whatever batch it was in
    assert _metric("podium_consumer_batch_fallbacks_total", "poisoned") > fallbacks
    assert calls[rejected.event_id] == 1  # its own error at once, not tried a second time
    assert calls[failing.event_id] == 3  # once per rung


async def test_a_handler_stuck_in_a_batch_does_not_hold_up_the_others(
    settings: Settings, publisher: EventPublisher
) -> None:
    release = threading.Event()
    events = [completed() for _ in range(10)]
    stuck = events[4]
    base = effects_consumer("stuck")

    def handle(event: Any, tx: Any) -> None:
        if event.event_id == stuck.event_id:
            release.wait(30)  # a hung dependency without a timeout of its own
        base.handle(event, tx)

    consumer = Consumer("stuck", base.events, handle, base.schema)
    store = store_of(settings, consumer)
    options = dataclasses.replace(
        runtime_options(settings), batch_time_limit=0.3, handler_timeout=1.0
    )
    await _preload(settings, publisher, consumer, events)
    try:
        async with running([consumer], options):
            # All while the stuck handler still hangs: nothing waits for it.
            await until(lambda: store.processed_count() == 9, what="the others")
            dead = await dead_letters(settings, "stuck", 1, within=15)
            assert not release.is_set()
    finally:
        release.set()

    assert [d.message_id for d in dead] == [stuck.event_id]
    assert dead[0].reason.startswith("retries exhausted: HandlerTimedOut")
    await asyncio.sleep(0.2)  # the released handlers' transactions were abandoned: no commit
    assert sorted(_effects(store)) == sorted(e.event_id for e in events if e != stuck)


async def test_a_batch_redelivered_after_its_commit_applies_nothing_twice(
    settings: Settings, publisher: EventPublisher, stack: LocalStack
) -> None:
    base = effects_consumer("redelivered")
    crashed: list[str] = []  # a failing rabbitmqctl would only be retried: prove it ran
    dropped = threading.Event()
    seen: list[str] = []

    def drop_every_connection() -> None:
        args = ("close_all_connections", "-p", "podium", "test crash")
        crashed.append(stack.rabbitmq.rabbitmqctl(*args))
        dropped.set()

    async def crash_before_ack(event: Any, store: Any) -> None:
        # The batch is committed; the broker drops every connection before any of it is acked.
        seen.append(event.event_id)
        if len(seen) == 1:
            threading.Thread(target=drop_every_connection, daemon=True).start()
        await asyncio.to_thread(dropped.wait, 20)

    consumer = Consumer(base.name, base.events, base.handle, base.schema, crash_before_ack)
    store = store_of(settings, consumer)
    events = [completed() for _ in range(12)]
    duplicates = _metric("podium_consumer_duplicates_total", "redelivered")
    await _preload(settings, publisher, consumer, events)
    async with running_consumers(settings, consumers=[consumer]):
        await until(lambda: store.processed_count() == 12, within=20, what="the burst")
        await until(
            lambda: _metric("podium_consumer_duplicates_total", "redelivered") > duplicates,
            within=20,
            what="redeliveries",
        )

    assert len(crashed) == 1, "the broker never dropped the connection"
    assert len(seen) > 12  # committed ones came again
    assert sorted(_effects(store)) == sorted(e.event_id for e in events)
    assert count(store, "SELECT count(*) FROM processed_events") == 12
