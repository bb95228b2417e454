"""Loyalty points: one point per whole currency unit of a completed order's total, rounded
down (EUR 34.99 earns 34; JPY 3499 earns 3499: the unit is the currency's, whatever it is).
Credited once per order and never reversed; failed orders earn nothing.
"""

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal

from adapters.sql import Transaction
from consumers.runtime.definition import Consumer
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1

NAME = "loyalty"

SCHEMA = """
CREATE TABLE IF NOT EXISTS credits (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    credited_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    customer_id TEXT PRIMARY KEY,
    points INTEGER NOT NULL
);
"""


def points_for(total: Decimal) -> int:
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def handle(event: OrderCompletedV1, tx: Transaction) -> None:
    order = event.order
    points = points_for(order.total)
    credited = tx.execute(
        "INSERT INTO credits VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (order.order_id, order.customer_id, points, event.event_id, datetime.now(UTC).isoformat()),
    ).rowcount
    if credited:
        tx.execute(
            "INSERT INTO balances VALUES (?, ?)"
            " ON CONFLICT (customer_id) DO UPDATE SET points = balances.points + excluded.points",
            (order.customer_id, points),
        )


def points(store: Store, customer_id: str) -> int:
    row = store.read(
        lambda c: c.execute(
            "SELECT points FROM balances WHERE customer_id = ?", (customer_id,)
        ).fetchone()
    )
    return int(row["points"]) if row else 0


def credits_total(store: Store) -> tuple[int, int]:
    """(orders credited, points credited) over all customers."""
    row = store.read(
        lambda c: c.execute(
            "SELECT count(*) AS n, coalesce(sum(points), 0) AS p FROM credits"
        ).fetchone()
    )
    return int(row["n"]), int(row["p"])


CONSUMER = Consumer(NAME, (OrderCompletedV1,), handle, SCHEMA)
