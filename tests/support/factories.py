"""Valid orders for tests, varied by keyword."""

import random
import uuid
from decimal import Decimal
from typing import Any

from contracts.order import OrderRequest


def order_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": f"t-{uuid.uuid4().hex[:12]}",
        "customer_id": "cust-1",
        "email": "ada@example.com",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postal_code": "SW1Y 4JH",
            "country": "GB",
        },
        "items": [
            {"sku": "MUG-BLUE", "quantity": 2, "unit_price": "12.50"},
            {"sku": "SOCKS-3PK", "quantity": 1, "unit_price": "9.99"},
        ],
        "currency": "EUR",
        "payment_token": "tok_visa",
    }
    data.update(overrides)
    return data


def an_order(**overrides: Any) -> OrderRequest:
    return OrderRequest.model_validate(order_data(**overrides))


ORDER_TOTAL = Decimal("34.99")


def mixed_orders(count: int, rng: random.Random, prefix: str) -> list[OrderRequest]:
    """Mostly good orders, some declined or short of funds, some flaky, some after scarce stock.

    `prefix` sets the ids apart: an order id is its workflow's, and tests share one Temporal."""
    kinds = ["ok"] * 14 + ["declined", "insufficient", "transient", "scarce", "scarce"]
    orders = []
    for i in range(count):
        kind = rng.choice(kinds)
        token = {
            "declined": "tok_declined",
            "insufficient": "tok_insufficient_funds",
            "transient": "tok_transient_2",
        }.get(kind, "tok_visa")
        items = [
            {"sku": "MUG-BLUE", "quantity": rng.randint(1, 3), "unit_price": "12.50"},
            {"sku": rng.choice(["TSHIRT-M", "NOTEBOOK-A5"]), "quantity": 1, "unit_price": "19.99"},
        ]
        if kind == "scarce":  # POSTER-A2 has 5 units and VINYL-LTD one: most of these run out
            sku = rng.choice(["POSTER-A2", "VINYL-LTD"])
            items = [{"sku": sku, "quantity": rng.randint(1, 2), "unit_price": "8.00"}]
        orders.append(
            an_order(
                order_id=f"{prefix}-{i}-{kind}",
                customer_id=f"cust-{i % 7}",
                items=items,
                payment_token=token,
            )
        )
    return orders
