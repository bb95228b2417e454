import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contracts.steps import StockLine
from services.errors import OutOfStock
from services.inventory import InventoryService


def grab_one(db_path: Path, key: str) -> int:
    """Try to reserve one poster; return how many were reserved."""
    inventory = InventoryService(db_path)
    try:
        inventory.reserve(key, key, [StockLine(sku="POSTER-A2", quantity=1)])
    except OutOfStock:
        return 0
    return 1


def grab_many(db_path: str, prefix: str, tries: int) -> int:
    return sum(grab_one(Path(db_path), f"{prefix}-{i}") for i in range(tries))


def test_racing_threads_never_oversell_the_last_units(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    InventoryService(path, {"POSTER-A2": 5})
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: grab_one(path, f"order-{i}"), range(40)))
    assert sum(results) == 5
    level = InventoryService(path).stock("POSTER-A2")
    assert (level.available, level.reserved) == (0, 5)


def test_racing_processes_never_oversell_the_last_units(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    InventoryService(path, {"POSTER-A2": 5})
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(grab_many, [(str(path), "a", 10), (str(path), "b", 10)])
    assert sum(results) == 5
    level = InventoryService(path).stock("POSTER-A2")
    assert (level.available, level.reserved) == (0, 5)


def test_racing_retries_of_one_reservation_reserve_once(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    InventoryService(path, {"POSTER-A2": 5})
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: grab_one(path, "order-1/reserve"), range(8)))
    assert results == [1] * 8
    assert InventoryService(path).stock("POSTER-A2").reserved == 1
