"""What a run and its steps say in the Temporal UI: informative, and bounded however large the
order (its SKUs and ids come from outside)."""

from contracts.order import MAX_ITEMS
from contracts.steps import ChargePayment, ReserveStock, StockLine
from tests.support.factories import an_order
from workflows.summaries import (
    MAX_DETAILS,
    MAX_SUMMARY,
    TIMES,
    order_details,
    order_summary,
    step,
    undo,
)

LARGEST = an_order(
    order_id="o" * 64,
    customer_id="c" * 64,
    items=[
        {"sku": f"{n:04d}" + "X" * 28, "quantity": 1000, "unit_price": "999999.99"}
        for n in range(MAX_ITEMS)
    ],
)


def test_the_static_summary_names_the_order_its_size_total_and_customer() -> None:
    order = an_order(order_id="42", customer_id="cust-ada")
    assert order_summary(order) == "order 42 · 3 items · 34.99 EUR · cust-ada"
    assert "· 1 item ·" in order_summary(
        an_order(items=[{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "5"}])
    )


def test_summaries_say_what_the_step_does_not_its_type() -> None:
    order = an_order()
    reserve = ReserveStock(key="k", order_id="42", lines=[StockLine(sku="MUG-BLUE", quantity=2)])
    charge = ChargePayment(
        key="k", order_id="42", amount=order.total, currency=order.currency, payment_token="t"
    )
    assert step("reserve_stock", reserve) == f"reserve 2{TIMES}MUG-BLUE"
    assert step("charge_payment", charge) == "charge 34.99 EUR"
    assert undo("refund_payment", order) == "undo: refund 34.99 EUR"


def test_every_summary_of_the_largest_order_is_bounded() -> None:
    lines = [StockLine(sku=i.sku, quantity=i.quantity) for i in LARGEST.items]
    texts = [
        order_summary(LARGEST),
        step("reserve_stock", ReserveStock(key="k", order_id=LARGEST.order_id, lines=lines)),
        *(undo(name, LARGEST) for name in ("cancel_order", "release_stock", "refund_payment")),
    ]
    assert all(len(text) <= MAX_SUMMARY for text in texts)
    assert texts[1].endswith("…")
    assert len(order_details(LARGEST)) <= MAX_DETAILS
