from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.order import OrderRequest
from services.errors import IdempotencyConflict, OrderConflict
from services.orders import OrderService
from tests.support.databases import Places

TOKEN = "tok_visa_secret_4242"


def order_request(order_id: str = "o-1", price: str = "19.99", quantity: int = 2) -> OrderRequest:
    return OrderRequest.model_validate(
        {
            "order_id": order_id,
            "customer_id": "cust-7",
            "email": "ada@example.com",
            "shipping_address": {
                "name": "Ada Lovelace",
                "line1": "1 Analytical Row",
                "city": "London",
                "postal_code": "N1 9GU",
                "country": "GB",
            },
            "items": [{"sku": "MUG-BLUE", "quantity": quantity, "unit_price": price}],
            "currency": "GBP",
            "payment_token": TOKEN,
        }
    )


@pytest.fixture
def orders(places: Places) -> Iterator[OrderService]:
    service = OrderService(places("orders"))
    yield service
    service.close()


def test_create_stores_a_pending_order_with_an_exact_total(orders: OrderService) -> None:
    record = orders.create("order-o-1/create", order_request())
    assert (record.order_id, record.status) == ("o-1", "PENDING")
    [row] = orders.all()
    assert row.total == Decimal("39.98")
    assert row.customer_id == "cust-7"
    assert orders.get("o-1") == record


def test_create_twice_with_the_same_key_creates_one_order(orders: OrderService) -> None:
    first = orders.create("k", order_request())
    assert orders.create("k", order_request()) == first
    assert len(orders.all()) == 1


def test_same_create_key_with_another_request_is_a_conflict(orders: OrderService) -> None:
    orders.create("k", order_request())
    with pytest.raises(IdempotencyConflict):
        orders.create("k", order_request(quantity=3))


def test_creating_an_existing_order_under_another_key_is_refused(orders: OrderService) -> None:
    orders.create("k1", order_request())
    with pytest.raises(OrderConflict):
        orders.create("k2", order_request())


def test_the_payment_token_is_never_stored(tmp_path: Path) -> None:
    OrderService(tmp_path / "orders.db").create("k", order_request())
    for file in tmp_path.glob("orders.db*"):
        assert TOKEN.encode() not in file.read_bytes()


def test_confirm_moves_pending_to_confirmed_and_repeats_harmlessly(orders: OrderService) -> None:
    orders.create("c", order_request())
    assert orders.confirm("f", "o-1").status == "CONFIRMED"
    assert orders.confirm("f", "o-1").status == "CONFIRMED"
    assert orders.confirm("f-again", "o-1").status == "CONFIRMED"


def test_confirming_a_cancelled_or_missing_order_is_a_conflict(orders: OrderService) -> None:
    orders.create("c", order_request())
    orders.cancel("x", "o-1")
    with pytest.raises(OrderConflict) as caught:
        orders.confirm("f", "o-1")
    assert caught.value.code == "order_conflict"
    with pytest.raises(OrderConflict):
        orders.confirm("f2", "nope")


def test_cancelling_a_confirmed_order_is_a_conflict(orders: OrderService) -> None:
    orders.create("c", order_request())
    orders.confirm("f", "o-1")
    with pytest.raises(OrderConflict):
        orders.cancel("x", "o-1")
    record = orders.get("o-1")
    assert record is not None and record.status == "CONFIRMED"


def test_cancel_before_create_leaves_a_tombstone_a_late_create_cannot_revive(
    orders: OrderService,
) -> None:
    assert orders.cancel("x", "o-1").status == "CANCELLED"
    assert orders.create("c", order_request()).status == "CANCELLED"
    assert orders.create("c", order_request()).status == "CANCELLED"
    [row] = orders.all()
    assert (row.status, row.total) == ("CANCELLED", Decimal("39.98"))
    with pytest.raises(OrderConflict):
        orders.confirm("f", "o-1")


def test_cancel_unless_confirmed_keeps_a_confirmed_order_and_cancels_any_other(
    orders: OrderService,
) -> None:
    orders.create("c1", order_request("o-1"))
    orders.confirm("f1", "o-1")
    orders.create("c2", order_request("o-2"))
    assert orders.cancel_unless_confirmed("s1", "o-1").status == "CONFIRMED"
    assert orders.cancel_unless_confirmed("s2", "o-2").status == "CANCELLED"
    assert orders.cancel_unless_confirmed("s3", "o-3").status == "CANCELLED"  # a tombstone
    assert {r.order_id: r.status for r in orders.all()} == {
        "o-1": "CONFIRMED",
        "o-2": "CANCELLED",
        "o-3": "CANCELLED",
    }
    # A late confirm is refused, the undo's own cancel goes through, a repeat answers the same.
    with pytest.raises(OrderConflict):
        orders.confirm("f2", "o-2")
    assert orders.cancel("x2", "o-2").status == "CANCELLED"
    assert orders.cancel_unless_confirmed("s2", "o-2").status == "CANCELLED"
    with pytest.raises(IdempotencyConflict):
        orders.cancel_unless_confirmed("s2", "o-1")


def test_a_fresh_service_on_the_same_database_sees_the_orders(places: Places) -> None:
    OrderService(places("orders")).create("c", order_request())
    assert OrderService(places("orders")).get("o-1") is not None
    assert OrderService(places("orders")).get("o-2") is None


def test_reconcile_reads_pending_orders_snapshots_and_notes_work_once(
    orders: OrderService,
) -> None:
    orders.create("k-1", order_request("o-1"))
    orders.create("k-2", order_request("o-2"))
    orders.create("k-3", order_request("o-3"))
    orders.confirm("c-2", "o-2")
    orders.cancel("x-9", "o-9")  # a tombstone: no details to snapshot
    assert orders.with_status("PENDING", limit=10) == ["o-1", "o-3"]
    assert orders.with_status("PENDING", limit=1) == ["o-1"]
    snapshot = orders.snapshot("o-1")
    assert snapshot is not None and snapshot.total == Decimal("39.98")
    assert TOKEN not in snapshot.model_dump_json()
    assert orders.snapshot("o-9") is None and orders.snapshot("nope") is None
    assert not orders.noted("order-o-1/reconciled")
    assert orders.note_once("order-o-1/reconciled")
    assert not orders.note_once("order-o-1/reconciled")
    assert orders.noted("order-o-1/reconciled")
