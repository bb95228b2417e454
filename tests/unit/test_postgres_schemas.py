"""On PostgreSQL each service keeps a schema of its own and its guarantees hold under
concurrent writers (row and named locks instead of SQLite's single writer)."""

import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from decimal import Decimal
from urllib.parse import urlsplit

import psycopg
import pytest

from adapters.postgres import DatabaseUnavailable
from adapters.storage import PostgresSchema
from contracts.money import Currency
from services.errors import OrderConflict
from services.orders import OrderService
from services.payment import PaymentService
from tests.support.databases import postgres_places
from tests.unit.test_orders_service import order_request


def test_a_service_sees_only_its_own_schema(postgres_url: str) -> None:
    places = postgres_places(postgres_url)
    orders = places("orders")
    assert isinstance(orders, PostgresSchema)
    with closing(OrderService(orders)) as service:
        service.create("c", order_request())
    with (
        closing(PaymentService(places("payments"))) as payments,
        pytest.raises(psycopg.errors.UndefinedTable),
    ):
        payments.captured_total(Currency.GBP)  # its own tables answer
        payments._db.read(lambda tx: tx.execute("SELECT * FROM orders").fetchall())
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " ORDER BY table_name",
            (orders.schema,),
        ).fetchall()
        assert [t for (t,) in tables] == ["idempotency", "orders", "schema_version"]
        kind = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = 'orders' AND column_name = 'total'",
            (orders.schema,),
        ).fetchone()
        assert kind == ("numeric",)


def test_racing_confirm_and_cancel_of_one_order_leave_one_outcome(postgres_url: str) -> None:
    places = postgres_places(postgres_url)
    with closing(OrderService(places("orders"))) as orders:
        for i in range(20):
            orders.create(f"create-{i}", order_request(f"o-{i}"))

        def race(i: int, step: str) -> str:
            try:
                if step == "confirm":
                    return orders.confirm(f"confirm-{i}", f"o-{i}").status
                return orders.cancel(f"cancel-{i}", f"o-{i}").status
            except OrderConflict:
                return "refused"

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(
                pool.map(race, [i for i in range(20) for _ in (0, 1)], ["confirm", "cancel"] * 20)
            )
        for i in range(20):
            stored = orders.get(f"o-{i}")
            assert stored is not None
            confirm, cancel = outcomes[2 * i], outcomes[2 * i + 1]
            # Exactly one won, and the order holds what the winner said.
            assert sorted([confirm, cancel]) in (["CONFIRMED", "refused"], ["CANCELLED", "refused"])
            assert stored.status in (confirm, cancel)


def test_racing_refunds_of_one_charge_refund_once(postgres_url: str) -> None:
    with closing(PaymentService(postgres_places(postgres_url)("payments"))) as payments:
        payments.charge("c", "o-1", Decimal("12.50"), Currency.GBP, "tok_visa")
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = set(pool.map(lambda i: payments.refund(f"r-{i}", "c").status, range(8)))
        assert statuses == {"REFUNDED"}
        assert payments.refunded_total(Currency.GBP) == Decimal("12.50")


def test_an_unreachable_server_or_a_wrong_password_is_one_clear_error(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: refused
        nowhere = f"postgresql://podium:s3cret@127.0.0.1:{port}/podium"
        with pytest.raises(DatabaseUnavailable) as caught:
            OrderService(PostgresSchema(nowhere, "orders"))
    assert f"port {port}" in str(caught.value) and "s3cret" not in str(caught.value)
    wrong = postgres_url.replace(f":{parts.password}@", ":s3cret@")
    with pytest.raises(DatabaseUnavailable, match="password authentication failed") as caught:
        OrderService(PostgresSchema(wrong, "orders"))
    assert "s3cret" not in str(caught.value)
