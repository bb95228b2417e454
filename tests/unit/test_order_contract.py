"""OrderRequest refuses bad input at the boundary, with a message that says what is wrong."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.order import OrderRequest, order_id_from_workflow_id
from tests.support.factories import order_data


def error_of(**overrides: object) -> str:
    with pytest.raises(ValidationError) as refused:
        OrderRequest.model_validate(order_data(**overrides))
    return str(refused.value)


def test_a_valid_order_totals_its_lines_exactly() -> None:
    order = OrderRequest.model_validate(order_data())
    assert order.total == Decimal("34.99")
    assert order.workflow_id == f"order-{order.order_id}"
    assert order_id_from_workflow_id(order.workflow_id) == order.order_id


@pytest.mark.parametrize("workflow_id", ["bench-t-b1", "order-", "Order-1", "", "x-order-1"])
def test_a_workflow_id_that_is_not_an_order_s_names_no_order(workflow_id: str) -> None:
    assert order_id_from_workflow_id(workflow_id) is None


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"items": []}, "at least 1 item"),
        (
            {"items": [{"sku": "MUG-BLUE", "quantity": 0, "unit_price": "1"}]},
            "greater than or equal to 1",
        ),
        (
            {"items": [{"sku": "MUG-BLUE", "quantity": -3, "unit_price": "1"}]},
            "greater than or equal to 1",
        ),
        (
            {"items": [{"sku": "MUG-BLUE", "quantity": 10**6, "unit_price": "1"}]},
            "less than or equal to 1000",
        ),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1.5, "unit_price": "1"}]}, "valid integer"),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "-1"}]}, "greater than 0"),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "NaN"}]}, "finite number"),
        (
            {"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "Infinity"}]},
            "finite number",
        ),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "1.001"}]}, "more decimals"),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": 0.1}]}, "never a float"),
        ({"items": [{"sku": "mug blue", "quantity": 1, "unit_price": "1"}]}, "sku"),
        ({"items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "1"}] * 2}, "appears twice"),
        (
            {"items": [{"sku": f"SKU-{i}", "quantity": 1, "unit_price": "1"} for i in range(101)]},
            "at most 100",
        ),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"order_id": "../etc/passwd"}, "order_id"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"customer_id": "a b"}, "customer_id"),
        ({"email": "not-an-email"}, "email"),
        ({"payment_token": "4111111111111111"}, "payment_token"),
        (
            {
                "shipping_address": {
                    "name": "A",
                    "line1": "B",
                    "city": "C",
                    "postal_code": "1",
                    "country": "GB",
                }
            },
            "postal_code",
        ),
        (
            {
                "shipping_address": {
                    "name": "A",
                    "line1": "B",
                    "city": "C",
                    "postal_code": "12345",
                    "country": "Britain",
                }
            },
            "country",
        ),
        ({"surprise": "field"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_orders_are_refused_with_a_reason(overrides: dict[str, object], says: str) -> None:
    assert says in error_of(**overrides)


def test_yen_prices_take_no_decimals() -> None:
    items = [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "100.5"}]
    assert "more decimals" in error_of(currency="JPY", items=items)
    ok = OrderRequest.model_validate(
        order_data(currency="JPY", items=[{**items[0], "unit_price": "100"}])
    )
    assert ok.total == Decimal(100)
