from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.sql import Database, Transaction
from adapters.sqlite import Database as SqliteDatabase
from adapters.storage import database
from contracts.steps import OrderRecord
from services.errors import IdempotencyConflict, OrderConflict
from services.idempotency import SCHEMA as IDEMPOTENCY
from services.idempotency import Idempotency
from tests.support.databases import Places

SCHEMA = (f"{IDEMPOTENCY}; CREATE TABLE IF NOT EXISTS effects (n INTEGER)",)


def run_once(
    db: Database,
    key: str,
    operation: str,
    params: dict[str, int],
    effect: Callable[[Transaction], OrderRecord],
) -> OrderRecord:
    return db.apply_once(key, effect, Idempotency(operation, params, OrderRecord))


def count_effects(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM effects").fetchone()[0])


def record_effect(conn: Transaction) -> OrderRecord:
    conn.execute("INSERT INTO effects (n) VALUES (1)")
    return OrderRecord(order_id="o-1", status="PENDING")


def test_database_creates_parent_folders_and_uses_wal(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "a" / "b" / "svc.db", SCHEMA)
    with db.reading() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_key_runs_the_effect_once_and_returns_the_recorded_result(places: Places) -> None:
    db = database(places("svc"), SCHEMA)
    first = run_once(db, "k1", "op", {"x": 1}, record_effect)
    second = run_once(db, "k1", "op", {"x": 1}, record_effect)
    assert first == second
    assert count_effects(db) == 1


def test_same_key_with_other_parameters_is_an_idempotency_conflict(places: Places) -> None:
    db = database(places("svc"), SCHEMA)
    run_once(db, "k1", "op", {"x": 1}, record_effect)
    with pytest.raises(IdempotencyConflict) as caught:
        run_once(db, "k1", "op", {"x": 2}, record_effect)
    assert caught.value.code == "idempotency_conflict"
    with pytest.raises(IdempotencyConflict):
        run_once(db, "k1", "other-op", {"x": 1}, record_effect)
    assert count_effects(db) == 1


def test_a_business_error_rolls_back_the_effect_and_records_nothing(places: Places) -> None:
    db = database(places("svc"), SCHEMA)

    def refuse(conn: Transaction) -> OrderRecord:
        record_effect(conn)
        raise OrderConflict("no")

    with pytest.raises(OrderConflict):
        run_once(db, "k1", "op", {}, refuse)
    assert count_effects(db) == 0
    assert run_once(db, "k1", "op", {}, record_effect).status == "PENDING"
    assert count_effects(db) == 1
