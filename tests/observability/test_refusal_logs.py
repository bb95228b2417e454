"""A business refusal is business as usual: the worker logs no warning or traceback for it,
while a real failure (a gateway error being retried) still warns."""

import asyncio
import logging

import pytest

from contracts.order import OrderState
from podium.client import place_order
from tests.support.factories import an_order
from tests.support.shop import Shop

REFUSED = [
    an_order(payment_token="tok_declined"),  # a regular activity's refusal
    an_order(items=[{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "30"}]),  # a local one's
    an_order(payment_token="tok_fraud"),
]


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("temporalio")
    ]


async def test_refusals_are_logged_without_warnings_or_tracebacks(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="temporalio")
    async with shop.worker(), asyncio.timeout(60):
        results = [
            await place_order(shop.client, order, shop.task_queue, wait="outcome")
            for order in REFUSED
        ]
    assert [r.state for r in results] == [OrderState.FAILED] * 3
    assert _loud(caplog) == []
    # Still there for whoever turns DEBUG on.
    benign = [
        r for r in caplog.records if r.getMessage().startswith("Completing activity as failed")
    ]
    assert len(benign) == 3 and all(r.levelno == logging.DEBUG for r in benign)


async def test_a_real_failure_still_warns_with_its_traceback(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="temporalio")
    order = an_order(payment_token="tok_transient_1")  # the gateway fails once, then charges
    async with shop.worker(), asyncio.timeout(60):
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
    assert result.state == OrderState.COMPLETED
    [warning] = _loud(caplog)
    assert warning.getMessage().startswith("Completing activity as failed")
    assert warning.exc_info
