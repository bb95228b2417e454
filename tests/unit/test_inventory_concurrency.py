import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from adapters.storage import Location
from contracts.steps import StockLine
from services.errors import OutOfStock
from services.inventory import InventoryService
from tests.support.databases import Places


def grab_one(location: Location, key: str) -> int:
    """Try to reserve one poster; return how many were reserved."""
    with closing(InventoryService(location)) as inventory:
        try:
            inventory.reserve(key, key, [StockLine(sku="POSTER-A2", quantity=1)])
        except OutOfStock:
            return 0
    return 1


def grab_many(location: Location, prefix: str, tries: int) -> int:
    return sum(grab_one(location, f"{prefix}-{i}") for i in range(tries))


def stocked(location: Location) -> tuple[int, int]:
    with closing(InventoryService(location)) as inventory:
        level = inventory.stock("POSTER-A2")
    return level.available, level.reserved


def test_racing_threads_never_oversell_the_last_units(places: Places) -> None:
    where = places("inventory")
    InventoryService(where, {"POSTER-A2": 5}).close()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: grab_one(where, f"order-{i}"), range(40)))
    assert sum(results) == 5
    assert stocked(where) == (0, 5)


def test_racing_processes_never_oversell_the_last_units(places: Places) -> None:
    where = places("inventory")
    InventoryService(where, {"POSTER-A2": 5}).close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(grab_many, [(where, "a", 10), (where, "b", 10)])
    assert sum(results) == 5
    assert stocked(where) == (0, 5)


def test_racing_retries_of_one_reservation_reserve_once(places: Places) -> None:
    where = places("inventory")
    InventoryService(where, {"POSTER-A2": 5}).close()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: grab_one(where, "order-1/reserve"), range(8)))
    assert results == [1] * 8
    assert stocked(where) == (4, 1)


def test_racing_reservations_of_many_lines_in_any_order_all_land(places: Places) -> None:
    """Each order takes the same two SKUs, listed in either order: none waits forever for
    another (no deadlock on PostgreSQL's row locks) and stock is conserved."""
    where = places("inventory")
    InventoryService(where, {"MUG-BLUE": 100, "TSHIRT-M": 100}).close()
    a, b = StockLine(sku="MUG-BLUE", quantity=1), StockLine(sku="TSHIRT-M", quantity=1)

    def order(i: int) -> None:
        with closing(InventoryService(where)) as inventory:
            inventory.reserve(f"o-{i}", f"o-{i}", [a, b] if i % 2 else [b, a])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(order, range(40)))
    with closing(InventoryService(where)) as inventory:
        levels = {level.sku: (level.available, level.reserved) for level in inventory.levels()}
    assert levels == {"MUG-BLUE": (60, 40), "TSHIRT-M": (60, 40)}
