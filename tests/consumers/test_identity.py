"""Duplicates are recognised by the event's identity: the broker's message_id and the body's
event_id must agree, and analytics counts an order once per outcome whatever event claims it."""

import json

import pytest

from activities.publisher import EventPublisher
from consumers import analytics, notifications
from consumers.mailer import MailOptions
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1
from podium.cli.consumers import analytics_report
from tests.support.consumers import (
    completed,
    dead_letters,
    failed,
    publish_raw,
    store_of,
)
from tests.support.databases import Places
from tests.support.waits import until
from workers.bootstrap import running_consumers
from workers.runtime.settings import Settings


def test_analytics_counts_an_order_once_per_outcome_whatever_event_claims_it(
    places: Places,
) -> None:
    store = Store(places("analytics"), analytics.SCHEMA)
    first = completed()
    second = first.model_copy(update={"event_id": "another-id"})
    refusal = failed(order_id=first.order.order_id)
    for event in (first, second, refusal, refusal.model_copy(update={"event_id": "x"})):
        store.apply(event.event_id, "k", lambda tx, e=event: analytics.handle(e, tx))
    report = analytics.report(store)
    assert report.outcomes == {"completed": 1, "failed": 1}
    assert report.units("MUG-BLUE") == 2


@pytest.mark.integration
async def test_a_message_whose_ids_disagree_is_dead_lettered_as_forged(
    settings: Settings, publisher: EventPublisher
) -> None:
    genuine = completed()
    forged = genuine.model_copy(update={"event_id": "forged-1"})
    body = json.dumps(forged.model_dump(mode="json")).encode()
    store = store_of(settings, analytics.CONSUMER)
    async with running_consumers(settings, names=[analytics.NAME]):
        # Same order, a new body event_id under the genuine message_id, and the reverse.
        await publish_raw(settings, body, OrderCompletedV1.ROUTING_KEY, genuine.event_id)
        await publish_raw(
            settings,
            json.dumps(genuine.model_dump(mode="json")).encode(),
            OrderCompletedV1.ROUTING_KEY,
            "forged-2",
        )
        await publisher.publish(genuine)
        dead = await dead_letters(settings, analytics.NAME, 2)
        await until(lambda: store.processed_count() == 1, what="the genuine event")
    assert sorted(d.message_id or "" for d in dead) == sorted([genuine.event_id, "forged-2"])
    assert all(d.reason.startswith("forged: message_id ") for d in dead)
    assert (await analytics_report(settings)).outcomes == {"completed": 1}


def test_notifications_email_an_order_once_per_outcome_whatever_event_claims_it(
    places: Places,
) -> None:
    consumer = notifications.consumer(MailOptions())
    store = Store(places("notifications"), consumer.schema)
    first = completed()
    for event in (first, first.model_copy(update={"event_id": "another-id"})):
        store.apply(event.event_id, "k", lambda tx, e=event: consumer.handle(e, tx))
    assert [e.event_id for e in notifications.outbox(store)] == [first.event_id]
