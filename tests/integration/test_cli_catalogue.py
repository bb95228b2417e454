"""`podium catalogue`: what a first order can be typed from, with the stock the inventory holds."""

import asyncio
import json

import pytest
from temporalio.client import Client

from podium.cli import exits
from podium.cli import orders as commands
from podium.cli.catalogue import show_catalogue
from services.inventory import DEFAULT_CATALOGUE
from services.products import PRODUCTS
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def test_every_stocked_sku_has_a_name_and_a_list_price() -> None:
    assert set(PRODUCTS) == set(DEFAULT_CATALOGUE)


async def _catalogue(settings: Settings, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert await show_catalogue(settings, as_json=True) == exits.OK
    return json.loads(capsys.readouterr().out)


async def test_catalogue_shows_seed_stock_then_what_the_inventory_holds(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await _catalogue(settings, capsys)
    assert before["stock_source"] == "seed"
    assert not settings.inventory_db.exists()  # a read creates nothing
    mug = next(p for p in before["products"] if p["sku"] == "MUG-BLUE")
    assert mug == {
        "sku": "MUG-BLUE",
        "name": "Blue mug",
        "price": "12.50",
        "currency": "EUR",
        "available": DEFAULT_CATALOGUE["MUG-BLUE"],
        "reserved": 0,
    }

    # The order typed from what the catalogue says.
    order = an_order(items=[{"sku": "MUG-BLUE", "quantity": 3, "unit_price": mug["price"]}])
    async with running_worker(temporal, settings), asyncio.timeout(60):
        assert await commands.place(settings, order, wait="outcome") == exits.OK

    after = await _catalogue(settings, capsys)
    assert after["stock_source"] == "inventory"
    mug = next(p for p in after["products"] if p["sku"] == "MUG-BLUE")
    assert mug["available"] == DEFAULT_CATALOGUE["MUG-BLUE"] - 3 and mug["reserved"] == 3

    assert await show_catalogue(settings) == exits.OK
    text = capsys.readouterr().out
    assert "MUG-BLUE       Blue mug           12.50 EUR        497        3" in text
    assert "an order states its own unit prices" in text
