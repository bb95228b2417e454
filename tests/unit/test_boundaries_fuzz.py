"""Property tests at every boundary: whatever arrives, the answer is a clear refusal or a valid
order/event — never a crash, a traceback or a silent acceptance of garbage."""

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.loyalty import CONSUMER as LOYALTY
from consumers.runtime.decoding import decode
from consumers.runtime.outcomes import DeadLetter
from contracts.order import OrderRequest
from podium.cli.order_input import BadOrder, order_from_dict, order_from_json
from tests.support.factories import order_data

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

FIELDS = list(order_data().keys())


@st.composite
def mutated_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order with one field replaced, removed, or a line item corrupted."""
    data = order_data()
    field = draw(st.sampled_from(FIELDS))
    action = draw(st.sampled_from(["replace", "remove", "item"]))
    if action == "replace":
        data[field] = draw(json_values)
    elif action == "remove":
        del data[field]
    else:
        item = dict(data["items"][0])
        key = draw(st.sampled_from(["sku", "quantity", "unit_price", "extra"]))
        item[key] = draw(json_values)
        data["items"] = [item]
    return data


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_orders())
def test_any_mutated_order_is_valid_or_refused_in_one_line(data: dict[str, Any]) -> None:
    try:
        order = order_from_dict(data)
    except BadOrder as err:
        message = str(err)
        assert message.startswith("invalid order: ") and "\n" not in message
        return
    # Accepted: then it really is a sound order.
    assert order.total > 0 and all(i.quantity >= 1 for i in order.items)
    assert all(isinstance(i.unit_price, Decimal) for i in order.items)


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_arbitrary_text_as_an_order_file_is_refused_cleanly(text: str) -> None:
    try:
        order_from_json(text)
    except BadOrder as err:
        assert "\n" not in str(err)
    else:  # only a real order could pass, and random text is never one
        raise AssertionError(f"accepted {text!r}")


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_as_an_order_is_refused_cleanly(value: object) -> None:
    try:
        order_from_json(json.dumps(value))
    except BadOrder as err:
        assert "\n" not in str(err)
    else:
        raise AssertionError(f"accepted {value!r}")


@settings(max_examples=300)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_message_bodies_are_dead_lettered_with_a_reason(body: bytes) -> None:
    try:
        decode(body, LOYALTY)
    except DeadLetter as err:
        assert str(err)
    else:
        raise AssertionError(f"decoded {body!r}")


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    nested = "[" * 20_000 + "]" * 20_000
    with pytest.raises(DeadLetter, match="nested too deeply"):
        decode(nested.encode(), LOYALTY)
    with pytest.raises(BadOrder, match="nested too deeply"):
        order_from_json(nested)


def test_order_request_round_trips_through_json_exactly() -> None:
    order = OrderRequest.model_validate(order_data())
    assert OrderRequest.model_validate_json(order.model_dump_json()) == order
