"""A read model of sales: revenue and units per SKU per UTC hour, and orders by outcome.

Revenue is kept per currency (amounts in different currencies are never added up). An order
counts once per outcome, keyed by its order id: a second event claiming the same outcome for
the same order (another event id, forged or republished) changes nothing.
"""

from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

from adapters.sql import Transaction
from consumers.runtime.definition import Consumer
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1, OrderFailedV1

NAME = "analytics"
CANCELLED_CODE = "cancelled"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sku_hourly (
    hour TEXT NOT NULL,
    sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    units INTEGER NOT NULL,
    revenue {money} NOT NULL,
    PRIMARY KEY (hour, sku, currency)
);
CREATE TABLE IF NOT EXISTS counted_orders (
    order_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (order_id, outcome)
);
CREATE TABLE IF NOT EXISTS outcomes (
    outcome TEXT PRIMARY KEY,
    orders INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SkuHour:
    hour: str  # e.g. 2026-01-31T14:00Z
    sku: str
    currency: str
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class AnalyticsReport:
    sku_hours: list[SkuHour] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    def revenue(self, currency: str) -> Decimal:
        return sum((r.revenue for r in self.sku_hours if r.currency == currency), Decimal(0))

    def units(self, sku: str) -> int:
        return sum(r.units for r in self.sku_hours if r.sku == sku)


def outcome_of(event: OrderCompletedV1 | OrderFailedV1) -> str:
    if isinstance(event, OrderCompletedV1):
        return "completed"
    return "cancelled" if event.failure.code == CANCELLED_CODE else "failed"


def handle(event: OrderCompletedV1 | OrderFailedV1, tx: Transaction) -> None:
    outcome = outcome_of(event)
    first = tx.execute(
        "INSERT INTO counted_orders VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (event.order.order_id, outcome, event.event_id),
    ).rowcount
    if not first:
        return
    tx.execute(
        "INSERT INTO outcomes VALUES (?, 1)"
        " ON CONFLICT (outcome) DO UPDATE SET orders = outcomes.orders + 1",
        (outcome,),
    )
    if not isinstance(event, OrderCompletedV1):
        return
    hour = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")
    currency = str(event.order.currency)
    for item in event.order.items:
        key = (hour, item.sku, currency)
        # Read, then written back: another consumer process adding to the same hour waits.
        tx.lock("sku_hourly/" + "/".join(key))
        row = tx.execute(
            "SELECT units, revenue FROM sku_hourly WHERE hour = ? AND sku = ? AND currency = ?",
            key,
        ).fetchone()
        units = (row["units"] if row else 0) + item.quantity
        revenue = (Decimal(row["revenue"]) if row else Decimal(0)) + item.unit_price * item.quantity
        tx.execute(
            "INSERT INTO sku_hourly VALUES (?, ?, ?, ?, ?) ON CONFLICT (hour, sku, currency)"
            " DO UPDATE SET units = excluded.units, revenue = excluded.revenue",
            (*key, units, str(revenue)),
        )


def report(store: Store) -> AnalyticsReport:
    def query(c: Transaction) -> AnalyticsReport:
        rows = c.execute("SELECT * FROM sku_hourly ORDER BY hour, sku, currency").fetchall()
        outcomes = c.execute("SELECT outcome, orders FROM outcomes ORDER BY outcome").fetchall()
        return AnalyticsReport(
            [
                SkuHour(r["hour"], r["sku"], r["currency"], r["units"], Decimal(r["revenue"]))
                for r in rows
            ],
            {r["outcome"]: r["orders"] for r in outcomes},
        )

    return store.read(query)


CONSUMER = Consumer(NAME, (OrderCompletedV1, OrderFailedV1), handle, SCHEMA)
