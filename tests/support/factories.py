"""Valid orders for tests, varied by keyword."""

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
