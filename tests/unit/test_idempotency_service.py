import sqlite3
from pathlib import Path

import pytest

from contracts.steps import OrderRecord
from services.db import Database, run_once
from services.errors import IdempotencyConflict, OrderConflict

SCHEMA = ("CREATE TABLE IF NOT EXISTS effects (n INTEGER)",)


def count_effects(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM effects").fetchone()[0])


def record_effect(conn: sqlite3.Connection) -> OrderRecord:
    conn.execute("INSERT INTO effects (n) VALUES (1)")
    return OrderRecord(order_id="o-1", status="PENDING")


def test_database_creates_parent_folders_and_uses_wal(tmp_path: Path) -> None:
    db = Database(tmp_path / "a" / "b" / "svc.db", SCHEMA)
    with db.reading() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_key_runs_the_effect_once_and_returns_the_recorded_result(tmp_path: Path) -> None:
    db = Database(tmp_path / "svc.db", SCHEMA)
    first = run_once(db, "k1", "op", {"x": 1}, OrderRecord, record_effect)
    second = run_once(db, "k1", "op", {"x": 1}, OrderRecord, record_effect)
    assert first == second
    assert count_effects(db) == 1


def test_same_key_with_other_parameters_is_an_idempotency_conflict(tmp_path: Path) -> None:
    db = Database(tmp_path / "svc.db", SCHEMA)
    run_once(db, "k1", "op", {"x": 1}, OrderRecord, record_effect)
    with pytest.raises(IdempotencyConflict) as caught:
        run_once(db, "k1", "op", {"x": 2}, OrderRecord, record_effect)
    assert caught.value.code == "idempotency_conflict"
    with pytest.raises(IdempotencyConflict):
        run_once(db, "k1", "other-op", {"x": 1}, OrderRecord, record_effect)
    assert count_effects(db) == 1


def test_a_business_error_rolls_back_the_effect_and_records_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "svc.db", SCHEMA)

    def refuse(conn: sqlite3.Connection) -> OrderRecord:
        record_effect(conn)
        raise OrderConflict("no")

    with pytest.raises(OrderConflict):
        run_once(db, "k1", "op", {}, OrderRecord, refuse)
    assert count_effects(db) == 0
    assert run_once(db, "k1", "op", {}, OrderRecord, record_effect).status == "PENDING"
    assert count_effects(db) == 1
