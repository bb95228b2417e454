"""Global invariants of the critical path and of the side effects, checked after every batch
of orders."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from consumers import analytics, loyalty, notifications
from consumers.runtime.dlq import list_dead_letters
from consumers.runtime.store import Store
from contracts.order import OrderRequest, OrderResult, OrderState
from infra.mailserver import file_name as mail_file_of
from infra.mailserver import stored_emails
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from workers.bootstrap import consumer_store, open_services, registered, runtime_options
from workers.runtime.settings import Settings


def assert_invariants(
    results: list[OrderResult],
    orders: OrderService,
    inventory: InventoryService,
    payments: PaymentService,
) -> None:
    """Stock is conserved, the ledger balances, and every order is in one final state."""
    assert all(r.state.is_final for r in results)

    completed = [r for r in results if r.state == OrderState.COMPLETED]
    stored = {row.order_id: row.status for row in orders.all()}
    for result in results:
        expected = "CONFIRMED" if result.state == OrderState.COMPLETED else "CANCELLED"
        assert stored[result.order_id] == expected, result

    for level in inventory.levels():
        assert level.available + level.reserved == level.initial, level
        assert level.available >= 0

    for currency in {r.currency for r in results}:
        net = payments.captured_total(currency) - payments.refunded_total(currency)
        expected_net = sum((r.total for r in completed if r.currency == currency), Decimal(0))
        assert net == expected_net, (currency, net, expected_net)

    captured = Counter(e.order_id for e in payments.charges() if e.status == "CAPTURED")
    assert set(captured) == {r.order_id for r in completed}
    assert all(n == 1 for n in captured.values())


def reserved_units(
    results: list[OrderResult], quantities: dict[str, dict[str, int]]
) -> Counter[str]:
    """Units that completed orders hold, per SKU, from each order's {sku: quantity}."""
    units: Counter[str] = Counter()
    for result in results:
        if result.state == OrderState.COMPLETED:
            units.update(quantities[result.order_id])
    return units


# Side effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerStores:
    """The three consumers' own databases (and the mail server's folder, when known)."""

    notifications: Store
    analytics: Store
    loyalty: Store
    mail_dir: Path | None = None

    @classmethod
    def of(cls, settings: Settings, mail_dir: Path | None = None) -> "ConsumerStores":
        by_name = {c.name: c for c in registered(settings)}

        def store(name: str) -> Store:
            return consumer_store(settings, by_name[name])

        return cls(store(notifications.NAME), store(analytics.NAME), store(loyalty.NAME), mail_dir)


@dataclass(frozen=True)
class EffectTally:
    """Per consumer, the final orders whose effect is missing or applied more than once."""

    missing: dict[str, list[str]]
    doubled: dict[str, list[str]]

    @property
    def lost(self) -> int:
        return sum(len(ids) for ids in self.missing.values())

    @property
    def doubles(self) -> int:
        return sum(len(ids) for ids in self.doubled.values())


def tally_effects(results: list[OrderResult], stores: ConsumerStores) -> EffectTally:
    """Count each consumer's effects per order: notifications and analytics react to every
    final order, loyalty to completed ones only."""
    final = [r for r in results if r.state.is_final]
    owner = {r.event_id: r.order_id for r in final}
    every = {r.order_id for r in final}
    completed = {r.order_id for r in final if r.state == OrderState.COMPLETED}

    def rows(store: Store, sql: str) -> list[str]:
        return [str(row[0]) for row in store.read(lambda c: c.execute(sql).fetchall())]

    def by_order(event_ids: list[str]) -> Counter[str]:
        return Counter(owner.get(e, f"unknown event {e}") for e in event_ids)

    seen = {
        "notifications": by_order(rows(stores.notifications, "SELECT event_id FROM outbox")),
        "analytics": by_order(rows(stores.analytics, "SELECT event_id FROM processed_events")),
        "loyalty": Counter(rows(stores.loyalty, "SELECT order_id FROM credits")),
    }
    expected = {"notifications": every, "analytics": every, "loyalty": completed}
    return EffectTally(
        missing={name: sorted(expected[name] - set(seen[name])) for name in seen},
        doubled={
            name: sorted(o for o, n in seen[name].items() if n > 1 or o not in expected[name])
            for name in seen
        },
    )


def side_effects_settled(results: list[OrderResult], stores: ConsumerStores) -> bool:
    """Every consumer has reacted to every final order and every email has been sent."""
    if tally_effects(results, stores).lost:
        return False
    unsent = stores.notifications.read(
        lambda c: c.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    )
    return int(unsent) == 0


def assert_consumer_invariants(
    results: list[OrderResult],
    stores: ConsumerStores,
    quantities: dict[str, dict[str, int]] | None = None,
) -> None:
    """Exactly one effect per consumer per completed or failed order, and the read models
    add up: one email each (sent), outcomes and units counted once, points credited once."""
    assert all(r.state.is_final and r.event_id for r in results), results
    tally = tally_effects(results, stores)
    assert tally.lost == 0, tally.missing
    assert tally.doubles == 0, tally.doubled

    emails = notifications.outbox(stores.notifications)
    assert all(e.sent_at for e in emails), [e for e in emails if not e.sent_at]
    if stores.mail_dir is not None:
        # The mail server stores one file per Message-ID: a resend overwrites, never doubles.
        files = {p.name for p in stored_emails(stores.mail_dir)}
        assert files == {mail_file_name(e.message_id) for e in emails}

    for name, store in (("notifications", stores.notifications), ("analytics", stores.analytics)):
        processed = store.read(
            lambda c: [r[0] for r in c.execute("SELECT event_id FROM processed_events")]
        )
        assert sorted(processed) == sorted(str(r.event_id) for r in results), name

    report = analytics.report(stores.analytics)
    expected_outcomes = Counter(
        "completed"
        if r.state == OrderState.COMPLETED
        else "cancelled"
        if r.failure is not None and r.failure.code == analytics.CANCELLED_CODE
        else "failed"
        for r in results
    )
    assert report.outcomes == dict(expected_outcomes), report.outcomes
    if quantities is not None:
        units = reserved_units(results, quantities)
        skus = set(units) | {r.sku for r in report.sku_hours}
        assert {s: report.units(s) for s in skus} == {s: units[s] for s in skus}

    completed = [r for r in results if r.state == OrderState.COMPLETED]
    credited_orders, credited_points = loyalty.credits_total(stores.loyalty)
    assert credited_orders == len(completed)
    assert credited_points == sum(loyalty.points_for(r.total) for r in completed)
    balances = stores.loyalty.read(
        lambda c: int(c.execute("SELECT coalesce(sum(points), 0) FROM balances").fetchone()[0])
    )
    assert balances == credited_points


def mail_file_name(message_id: str) -> str:
    return mail_file_of(f"Message-ID: {message_id}\r\n\r\n".encode())


async def assert_run_invariants(
    results: list[OrderResult],
    orders: list[OrderRequest],
    settings: Settings,
    stores: ConsumerStores,
) -> None:
    """Everything a run of many processes must keep, from the services' and stores' own data:
    the critical path's invariants, stock held by exactly the completed orders, each effect
    once per consumer, and no dead letter."""
    orders_db, inventory, payments = open_services(settings)
    assert_invariants(results, orders_db, inventory, payments)
    quantities = {o.order_id: {i.sku: i.quantity for i in o.items} for o in orders}
    held = reserved_units(results, quantities)
    assert {lvl.sku: lvl.reserved for lvl in inventory.levels() if lvl.reserved} == dict(held)
    assert_consumer_invariants(results, stores, quantities)
    options = runtime_options(settings)
    for consumer in registered(settings):
        assert await list_dead_letters(options, consumer.name) == [], consumer.name
