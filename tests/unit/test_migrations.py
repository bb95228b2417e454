"""Versioned migrations, the same on SQLite and PostgreSQL (adapters/sql.py)."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from adapters.sql import Transaction
from adapters.storage import database
from tests.support.databases import Places

V1 = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"
V2 = "ALTER TABLE notes ADD COLUMN amount {money}; CREATE TABLE tags (name TEXT PRIMARY KEY)"


def versions(tx: Transaction) -> list[int]:
    return [int(r[0]) for r in tx.execute("SELECT version FROM schema_version").fetchall()]


def test_each_version_is_applied_once_in_order(places: Places) -> None:
    with closing(database(places("svc"), (V1,)).open()) as db:
        db.write(lambda tx: tx.execute("INSERT INTO notes (id, body) VALUES (?, ?)", (1, "a")))
        assert db.read(versions) == [1]
    with closing(database(places("svc"), (V1, V2)).open()) as db:
        db.write(lambda tx: tx.execute("INSERT INTO tags VALUES (?)", ("x",)))
        db.write(lambda tx: tx.execute("UPDATE notes SET amount = ? WHERE id = 1", ("34.90",)))
        row = db.read(lambda tx: tx.execute("SELECT body, amount FROM notes").fetchone())
        assert (row["body"], str(row[1])) == ("a", "34.90")
        assert db.read(versions) == [1, 2]
    with closing(database(places("svc"), (V1, V2)).open()) as db:  # nothing left to apply
        assert db.read(versions) == [1, 2]


def test_openers_racing_migrate_once(places: Places) -> None:
    def open_one(_: int) -> list[int]:
        with closing(database(places("svc"), (V1, V2)).open()) as db:
            return db.read(versions)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(open_one, range(4))) == [[1, 2]] * 4


def test_a_schema_newer_than_the_code_is_refused(places: Places) -> None:
    database(places("svc"), (V1, V2)).open().close()
    with pytest.raises(RuntimeError, match="newer than this Podium"):
        database(places("svc"), (V1,)).open()


def test_a_failing_migration_leaves_the_previous_version(places: Places) -> None:
    database(places("svc"), (V1,)).open().close()
    with pytest.raises(Exception, match="nope"):
        database(places("svc"), (V1, "CREATE TABLE tags (name TEXT); SELECT * FROM nope")).open()
    with closing(database(places("svc"), (V1, V2)).open()) as db:
        assert db.read(versions) == [1, 2]


def test_a_reader_without_migrations_reads_whatever_version_is_there(places: Places) -> None:
    database(places("svc"), (V1, V2)).open().close()
    with closing(database(places("svc"), ()).open()) as reader:
        assert reader.read(versions) == [1, 2]
