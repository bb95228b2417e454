"""Pure parts: decoding, the business rules of each consumer, emails, topology, the mail server."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sql import Transaction
from consumers import analytics, loyalty
from consumers.emails import message_id_for, render
from consumers.export import DEFINITIONS_FILE, definitions_json
from consumers.registry import all_consumers, select
from consumers.runtime.decoding import decode
from consumers.runtime.options import TopologyOptions
from consumers.runtime.outcomes import DeadLetter
from consumers.runtime.store import Store
from consumers.runtime.topology import topology_for
from contracts.broker import KEPT_QUEUE_ARGUMENTS, NO_DELIVERY_LIMIT, exchange_arguments
from contracts.events import OrderCompletedV1, OrderFailedV1
from infra.mailserver import file_name
from tests.support.consumers import completed, failed
from tests.support.databases import Places

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_file_matches_the_topology_in_code() -> None:
    assert json.loads((ROOT / DEFINITIONS_FILE).read_text()) == json.loads(definitions_json()), (
        "regenerate it: python -m consumers.export"
    )


def test_every_main_queue_is_quorum_with_delivery_limit_and_at_least_once_dead_letters() -> None:
    options = TopologyOptions(retry_delays_ms=(100, 200, 300))
    topology = topology_for(all_consumers(), options)
    queues = {q.name: q.arguments for q in topology.queues}
    for name in ("notifications", "analytics", "loyalty"):
        main = queues[f"podium.{name}"]
        assert main["x-queue-type"] == "quorum"
        assert main["x-delivery-limit"] == 20
        assert main["x-dead-letter-strategy"] == "at-least-once"
        assert main["x-overflow"] == "reject-publish"
        assert main["x-dead-letter-routing-key"] == f"podium.{name}.dlq"
        ttls = [queues[f"podium.{name}.retry.{n}"]["x-message-ttl"] for n in (1, 2, 3)]
        assert ttls == [100, 200, 300]
        assert queues[f"podium.{name}.retry.1"]["x-dead-letter-routing-key"] == f"podium.{name}"
        assert queues[f"podium.{name}.dlq"]["x-queue-type"] == "quorum"
    loyalty_keys = {b.routing_key for b in topology.bindings if b.exchange == "orders"}
    assert loyalty_keys == {OrderCompletedV1.ROUTING_KEY, OrderFailedV1.ROUTING_KEY}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1]", "body is not a JSON object"),
        (b'{"type": "order.completed", "version": 7}', "version 7 is unknown"),
        (b'{"type": "order.shipped", "version": 1}', "'order.shipped' version 1 is unknown"),
        (b'{"type": "order.failed", "version": 1}', "not understood by this consumer"),
        (b'{"type": "order.completed", "version": 1}', "schema mismatch"),
    ],
)
def test_undecodable_bodies_are_dead_lettered_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(DeadLetter, match=reason):
        decode(body, loyalty.CONSUMER)


def test_a_valid_body_decodes_to_its_event() -> None:
    event = completed()
    assert decode(event.model_dump_json().encode(), loyalty.CONSUMER) == event


@pytest.mark.parametrize(
    ("total", "points"), [("34.99", 34), ("0.99", 0), ("100", 100), ("3499", 3499)]
)
def test_loyalty_points_are_whole_currency_units_rounded_down(total: str, points: int) -> None:
    assert loyalty.points_for(Decimal(total)) == points


def test_analytics_tells_cancelled_from_failed() -> None:
    assert analytics.outcome_of(failed(code="cancelled")) == "cancelled"
    assert analytics.outcome_of(failed(code="charge_payment_failed")) == "failed"
    assert analytics.outcome_of(completed()) == "completed"


def test_a_store_applies_an_event_once_and_rolls_back_a_failed_effect(places: Places) -> None:
    store = Store(places("s"), "CREATE TABLE IF NOT EXISTS t (x INTEGER);")

    def effect(tx: Transaction) -> None:
        tx.execute("INSERT INTO t VALUES (1)")

    def broken(tx: Transaction) -> None:
        effect(tx)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.apply("e1", "k", broken)
    assert store.apply("e1", "k", effect) is True
    assert store.apply("e1", "k", effect) is False
    assert store.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 1


def test_an_email_has_a_message_id_derived_from_the_event(tmp_path: Path) -> None:
    event = failed()
    email = render(event, "Podium <shop@example.com>")
    assert email.message_id == message_id_for(event.event_id)
    assert render(event, "Podium <shop@example.com>").message_id == email.message_id
    assert b"Content-Type: text/html" in email.raw and b"\r\n" in email.raw
    assert max(len(line) for line in email.raw.split(b"\r\n")) <= 998
    assert file_name(email.raw) == f"{event.event_id}@events.podium.eml"


def test_selecting_an_unknown_consumer_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: notifications, analytics, loyalty"):
        select(all_consumers(), ["nope"])


def test_the_event_exchange_and_its_unrouted_queue_are_in_the_definitions() -> None:
    data = json.loads(definitions_json())
    exchanges = {e["name"]: e for e in data["exchanges"]}
    queues = {q["name"]: q["arguments"] for q in data["queues"]}
    assert exchanges["orders"]["arguments"] == exchange_arguments("orders")
    assert exchanges["orders"]["arguments"] == {"alternate-exchange": "orders.unrouted"}
    assert exchanges["orders.unrouted"]["type"] == "fanout"
    assert queues["orders.unrouted"] == KEPT_QUEUE_ARGUMENTS
    assert {
        "source": "orders.unrouted",
        "vhost": "podium",
        "destination": "orders.unrouted",
        "destination_type": "queue",
        "routing_key": "",
        "arguments": {},
    } in data["bindings"]
    for name in ("notifications", "analytics", "loyalty"):
        assert queues[f"podium.{name}.dlq"]["x-delivery-limit"] == NO_DELIVERY_LIMIT
