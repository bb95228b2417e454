"""Global invariants of the critical path, checked after every batch of orders."""

from collections import Counter
from decimal import Decimal

from contracts.order import OrderResult, OrderState
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService


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
