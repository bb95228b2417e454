"""Events reach every consumer, and each effect happens once however often they arrive."""

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from activities.publisher import EventPublisher
from consumers import analytics, loyalty, notifications
from consumers.emails import message_id_for
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from infra.mailserver import file_name
from infra.stack import LocalStack
from podium.cli.consumers import analytics_report, loyalty_points
from podium.cli.demo import consumer_effects
from tests.support.consumers import (
    completed,
    count,
    effects_consumer,
    failed,
    ready_count,
    store_of,
    wait_drained,
)
from tests.support.servers import Mail
from tests.support.waits import until
from workers.bootstrap import declare_consumer_topology, registered, running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def _stores(settings: Settings) -> dict[str, Any]:
    return {c.name: store_of(settings, c) for c in registered(settings)}


def _email_file(mail: Mail, event_id: str) -> bool:
    name = file_name(f"Message-ID: {message_id_for(event_id)}\r\n\r\n".encode())
    return (mail.folder / name).exists()


async def test_an_event_reaches_all_three_consumers_each_effect_once(
    settings: Settings, publisher: EventPublisher, mail: Mail
) -> None:
    ok = completed(customer_id="cust-all")
    cancelled = failed(code="cancelled", customer_id="cust-all")
    stores = _stores(settings)
    async with running_consumers(settings):
        await publisher.publish(ok)
        await publisher.publish(cancelled)
        await until(
            lambda: (
                all(s.processed_count() >= 2 for n, s in stores.items() if n != "loyalty")
                and stores["loyalty"].processed_count() >= 1
            ),
            what="all consumers",
        )
        await until(lambda: _email_file(mail, cancelled.event_id), what="email")

    effects = await consumer_effects(settings)
    assert sorted(e.subject for e in effects.emails) == sorted(
        [
            f"Your order {ok.order.order_id} is confirmed",
            f"Your order {cancelled.order.order_id} could not be completed",
        ]
    )
    assert all(e.sent_at for e in effects.emails)
    assert _email_file(mail, ok.event_id)
    assert await loyalty_points(settings, "cust-all") == 34  # floor(34.99)
    report = await analytics_report(settings)
    assert report.outcomes == {"cancelled": 1, "completed": 1}
    assert report.revenue("EUR") == Decimal("34.99")
    assert report.units("MUG-BLUE") == 2
    assert {r.hour for r in report.sku_hours} == {"2026-03-01T14:00Z"}
    assert "34 points credited over 1 orders" in effects.describe()


async def test_the_same_event_published_twice_has_one_effect_per_consumer(
    settings: Settings, publisher: EventPublisher
) -> None:
    event = completed(customer_id="cust-twice")
    stores = _stores(settings)
    async with running_consumers(settings):
        await publisher.publish(event)
        await publisher.publish(event)
        await publisher.publish(event)
        await until(
            lambda: all(s.processed_count() == 1 for s in stores.values()), what="processed"
        )
        prefix = settings.consumer_queue_prefix
        await wait_drained(settings, [f"{prefix}.{name}" for name in stores])
        await asyncio.sleep(0.3)  # let any straggling duplicate be handled

    assert count(stores["notifications"], "SELECT count(*) FROM outbox") == 1
    assert count(stores["loyalty"], "SELECT count(*) FROM credits") == 1
    assert await loyalty_points(settings, "cust-twice") == 34
    assert (await analytics_report(settings)).units("MUG-BLUE") == 2


async def test_consumer_killed_after_commit_before_ack_gets_it_again_without_second_effect(
    settings: Settings, publisher: EventPublisher, stack: LocalStack
) -> None:
    base = effects_consumer("crashy")
    calls: list[str] = []
    crashed: list[str] = []  # a failing rabbitmqctl would only be retried: prove it ran

    def drop_every_connection() -> None:
        # Recorded by the thread itself: the awaiting handler is cancelled by the very drop.
        args = ("close_all_connections", "-p", "podium", "test crash")
        crashed.append(stack.rabbitmq.rabbitmqctl(*args))

    async def crash_before_ack(event: Any, store: Any) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            # The broker drops every connection: the commit is done, the ack never arrives.
            await asyncio.to_thread(drop_every_connection)

    consumer = Consumer(base.name, base.events, base.handle, base.schema, crash_before_ack)
    store = store_of(settings, consumer)
    event = completed()
    async with running_consumers(settings, consumers=[consumer]):
        await publisher.publish(event)
        await until(lambda: len(calls) >= 2, within=20, what="redelivery")

    assert len(crashed) == 1, "the broker never dropped the connection"
    assert calls == [event.event_id, event.event_id]
    assert count(store, "SELECT count(*) FROM effects") == 1


async def test_events_wait_for_a_consumer_that_is_not_running_and_it_catches_up(
    settings: Settings, publisher: EventPublisher
) -> None:
    await declare_consumer_topology(settings)
    events = [completed(customer_id="cust-late") for _ in range(3)]
    for event in events:
        await publisher.publish(event)  # mandatory: routable with no consumer running
    queue = TopologyOptions(queue_prefix=settings.consumer_queue_prefix).queue("loyalty")
    assert await ready_count(settings, queue) == 3

    async with running_consumers(settings, names=["analytics"]):
        analytics_store = store_of(settings, analytics.CONSUMER)
        await until(lambda: analytics_store.processed_count() == 3, what="analytics")
    assert await ready_count(settings, queue) == 3
    assert await loyalty_points(settings, "cust-late") == 0

    async with running_consumers(settings, names=["loyalty"]):
        loyalty_store = store_of(settings, loyalty.CONSUMER)
        await until(lambda: loyalty_store.processed_count() == 3, what="loyalty")
    assert await loyalty_points(settings, "cust-late") == 3 * 34
    assert count(store_of(settings, registered(settings)[0]), "SELECT count(*) FROM outbox") == 0
    assert registered(settings)[0].name == notifications.NAME


async def test_a_fourth_consumer_defined_here_receives_events_without_other_changes(
    settings: Settings, publisher: EventPublisher
) -> None:
    seen: list[tuple[str, str]] = []

    def audit(event: Any, tx: Any) -> None:
        tx.execute("INSERT INTO audit VALUES (?, ?)", (event.event_id, event.type))
        seen.append((event.order.order_id, event.type))

    audit_consumer = Consumer(
        name="audit",
        events=(*registered(settings)[0].events,),
        handle=audit,
        schema="CREATE TABLE IF NOT EXISTS audit (event_id TEXT PRIMARY KEY, type TEXT);",
    )
    ok, ko = completed(), failed()
    async with running_consumers(settings, consumers=[audit_consumer]):
        await publisher.publish(ok)
        await publisher.publish(ko)
        await until(lambda: len(seen) == 2, what="audit")

    assert sorted(seen) == sorted(
        [(ok.order.order_id, "order.completed"), (ko.order.order_id, "order.failed")]
    )
    assert count(store_of(settings, audit_consumer), "SELECT count(*) FROM audit") == 2
