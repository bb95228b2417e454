from collections.abc import Iterator

import pytest

from contracts.steps import StockLine
from services.errors import IdempotencyConflict, OutOfStock, UnknownSku
from services.inventory import DEFAULT_CATALOGUE, InventoryService, StockLevel
from tests.support.databases import Places


@pytest.fixture
def inventory(places: Places) -> Iterator[InventoryService]:
    service = InventoryService(places("inventory"), {"MUG-BLUE": 10, "POSTER-A2": 5})
    yield service
    service.close()


def line(sku: str, quantity: int) -> StockLine:
    return StockLine(sku=sku, quantity=quantity)


def test_reserve_moves_stock_from_available_to_reserved(inventory: InventoryService) -> None:
    reservation = inventory.reserve("r", "o-1", [line("MUG-BLUE", 3), line("POSTER-A2", 2)])
    assert reservation.status == "RESERVED"
    assert inventory.stock("MUG-BLUE") == StockLevel(
        sku="MUG-BLUE", available=7, reserved=3, initial=10
    )
    assert inventory.stock("POSTER-A2").available == 3


def test_reserve_twice_with_the_same_key_reserves_once(inventory: InventoryService) -> None:
    first = inventory.reserve("r", "o-1", [line("MUG-BLUE", 3)])
    assert inventory.reserve("r", "o-1", [line("MUG-BLUE", 3)]) == first
    assert inventory.stock("MUG-BLUE").reserved == 3


def test_same_reserve_key_with_other_lines_is_a_conflict(inventory: InventoryService) -> None:
    inventory.reserve("r", "o-1", [line("MUG-BLUE", 3)])
    with pytest.raises(IdempotencyConflict):
        inventory.reserve("r", "o-1", [line("MUG-BLUE", 4)])


def test_reservation_is_all_or_nothing(inventory: InventoryService) -> None:
    with pytest.raises(OutOfStock) as caught:
        inventory.reserve("r", "o-1", [line("MUG-BLUE", 3), line("POSTER-A2", 6)])
    assert caught.value.code == "out_of_stock"
    assert (caught.value.sku, caught.value.requested, caught.value.available) == ("POSTER-A2", 6, 5)
    assert "POSTER-A2" in str(caught.value)
    assert inventory.stock("MUG-BLUE").available == 10
    # Nothing was recorded, so the key can still be used once stock allows.
    assert inventory.reserve("r", "o-1", [line("MUG-BLUE", 3)]).status == "RESERVED"


def test_an_unknown_sku_is_refused_and_changes_nothing(inventory: InventoryService) -> None:
    with pytest.raises(UnknownSku) as caught:
        inventory.reserve("r", "o-1", [line("MUG-BLUE", 1), line("NOPE-1", 1)])
    assert caught.value.code == "unknown_sku"
    assert inventory.stock("MUG-BLUE").available == 10
    with pytest.raises(UnknownSku):
        inventory.stock("NOPE-1")


def test_release_gives_the_stock_back_once(inventory: InventoryService) -> None:
    reserved = inventory.reserve("r", "o-1", [line("MUG-BLUE", 4)])
    released = inventory.release("undo", "r")
    assert (released.reservation_id, released.status) == (reserved.reservation_id, "RELEASED")
    assert inventory.release("undo", "r") == released
    assert inventory.release("undo-again", "r").status == "RELEASED"
    level = inventory.stock("MUG-BLUE")
    assert (level.available, level.reserved) == (10, 0)


def test_release_before_reserve_voids_the_late_reservation(inventory: InventoryService) -> None:
    voided = inventory.release("undo", "r")
    assert (voided.status, voided.lines) == ("VOIDED", [])
    late = inventory.reserve("r", "o-1", [line("MUG-BLUE", 4)])
    assert (late.status, late.reservation_id) == ("VOIDED", voided.reservation_id)
    assert inventory.reserve("r", "o-1", [line("MUG-BLUE", 4)]) == late
    assert inventory.stock("MUG-BLUE").available == 10
    assert inventory.release("undo-2", "r").status == "VOIDED"


def test_seeding_adds_new_skus_and_never_resets_existing_stock(places: Places) -> None:
    path = places("inventory")
    inventory = InventoryService(path, {"MUG-BLUE": 10})
    inventory.reserve("r", "o-1", [line("MUG-BLUE", 4)])
    again = InventoryService(path, {"MUG-BLUE": 99, "LAMP-DESK": 2})
    assert again.stock("MUG-BLUE").available == 6
    assert [level.sku for level in again.levels()] == ["LAMP-DESK", "MUG-BLUE"]


def test_seeding_rejects_a_malformed_sku(places: Places) -> None:
    with pytest.raises(ValueError):
        InventoryService(places("inventory"), {"mug blue": 1})


def test_default_catalogue_seeds_every_sku(places: Places) -> None:
    inventory = InventoryService(places("inventory"), DEFAULT_CATALOGUE)
    assert {level.sku: level.available for level in inventory.levels()} == DEFAULT_CATALOGUE
