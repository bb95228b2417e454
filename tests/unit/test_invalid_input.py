"""Refusals of invalid input are one bounded, printable line, and never retried."""

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from contracts.order import OrderRequest
from contracts.problems import MAX_LINE_CHARS, describe
from tests.support.factories import order_data
from workers.runtime.payloads import INVALID_INPUT, ValidatingPayloadConverter


def problems_of(data: object) -> str:
    with pytest.raises(ValidationError) as err:
        OrderRequest.model_validate(data)
    return describe(err.value, "order")


def test_a_huge_unknown_field_name_is_cut_and_the_line_bounded() -> None:
    line = problems_of(order_data(**{"k\n" * 100_000: 1, "email": "x" * 1_000_000}))
    assert "\n" not in line and len(line) <= MAX_LINE_CHARS
    assert line.startswith("invalid order: ") and "email" in line


def test_many_problems_are_counted_not_listed() -> None:
    items = [{"sku": "no", "quantity": -1, "unit_price": 1.5}] * 50
    line = problems_of(order_data(items=items))
    assert "more" in line and len(line) <= MAX_LINE_CHARS


@pytest.mark.parametrize(
    "payload",
    [
        Payload(metadata={"encoding": b"json/plain"}, data=b'{"order_id": 1}'),
        Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"),
        Payload(metadata={"encoding": b"binary/null"}),
        Payload(metadata={"encoding": b"binary/plain"}, data=b"\xff\xfe"),
        Payload(metadata={"encoding": b"no/such"}, data=b"{}"),
    ],
)
def test_every_undecodable_input_is_a_non_retryable_invalid_input(payload: Payload) -> None:
    with pytest.raises(ApplicationError) as refused:
        ValidatingPayloadConverter().from_payloads([payload], [OrderRequest])
    assert refused.value.type == INVALID_INPUT and refused.value.non_retryable
    assert refused.value.message.startswith("invalid input: ")
    assert refused.value.__cause__ is None  # the pydantic error quotes customer data


def test_valid_input_decodes_as_before() -> None:
    payloads = ValidatingPayloadConverter().to_payloads([OrderRequest(**order_data())])
    [back] = ValidatingPayloadConverter().from_payloads(payloads, [OrderRequest])
    assert isinstance(back, OrderRequest)
