"""The one SQLite primitive: how a database opens, and applying an effect once per key."""

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.sql import Abandon, Transaction
from adapters.sqlite import BUSY_TIMEOUT_SECONDS, IDLE_CONNECTIONS, Database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS effects (key TEXT)",
    "CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY, result TEXT NOT NULL);",
)


class Applied:
    """A minimal ledger: the key with its result."""

    def recall(self, tx: Transaction, key: str) -> str | None:
        row = tx.execute("SELECT result FROM applied WHERE key = ?", (key,)).fetchone()
        return None if row is None else f"recalled {row[0]}"

    def record(self, tx: Transaction, key: str, result: str) -> None:
        tx.execute("INSERT INTO applied VALUES (?, ?)", (key, result))


def effect(key: str) -> Callable[[Transaction], str]:
    def run(tx: Transaction) -> str:
        tx.execute("INSERT INTO effects VALUES (?)", (key,))
        return f"applied {key}"

    return run


def effects(db: Database) -> list[str]:
    return db.read(lambda tx: [row[0] for row in tx.execute("SELECT key FROM effects")])


def test_constructing_a_database_touches_nothing_until_first_use(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.db"
    db = Database(path, SCHEMA)
    assert not path.parent.exists()
    assert effects(db) == []
    assert path.exists()


def test_every_connection_has_the_same_settings(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    with db.reading() as tx:
        assert tx.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync per commit
        assert tx.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_SECONDS * 1000
    with db.transaction() as tx:
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_key_is_applied_once_and_recalled_after(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    assert db.apply_once("k1", effect("k1"), Applied()) == "applied k1"
    assert db.apply_once("k1", effect("k1"), Applied()) == "recalled applied k1"
    assert effects(db) == ["k1"]


def test_an_effect_that_raises_rolls_back_and_leaves_the_key_free(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)

    def broken(tx: Transaction) -> str:
        effect("k1")(tx)
        raise ValueError("refused")

    with pytest.raises(ValueError):
        db.apply_once("k1", broken, Applied())
    assert effects(db) == []
    assert db.apply_once("k1", effect("k1"), Applied()) == "applied k1"


def test_racing_threads_apply_a_key_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)  # opened by the racers themselves
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: db.apply_once("k", effect("k"), Applied()), range(16)))
    assert results.count("applied k") == 1
    assert effects(db) == ["k"]


def test_the_seed_runs_with_the_schema_once_per_open(tmp_path: Path) -> None:
    path = tmp_path / "x.db"

    def seed(tx: Transaction) -> None:
        tx.execute("INSERT INTO effects VALUES ('seeded')")

    Database(path, SCHEMA, seed=seed).open().open()
    assert effects(Database(path, SCHEMA)) == ["seeded"]


def test_an_abandoned_transaction_commits_nothing_and_frees_the_file(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    abandon, inside, release = Abandon(), threading.Event(), threading.Event()

    def stuck(tx: Transaction) -> str:
        effect("stuck")(tx)
        inside.set()
        release.wait(10)
        return effect("late")(tx)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(db.apply_once, "k1", stuck, Applied(), abandon)
        assert inside.wait(5)
        abandon.abandon()
        assert db.apply_once("k2", effect("k2"), Applied()) == "applied k2"  # not kept waiting
        release.set()
        with pytest.raises(sqlite3.ProgrammingError):  # its connection was closed under it
            pending.result(5)
    assert effects(db) == ["k2"]
    with pytest.raises(TimeoutError):  # abandoned before it started: never runs
        db.apply_once("k1", effect("k1"), Applied(), abandon)
    assert db.apply_once("k1", effect("k1"), Applied()) == "applied k1"


async def test_the_async_wrappers_never_run_sqlite_on_the_loop(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    db = Database(tmp_path / "x.db", SCHEMA)
    seen: list[int] = []

    def where(tx: Transaction) -> str:
        seen.append(threading.get_ident())
        return effect("k")(tx)

    await db.aopen()
    assert await db.aapply_once("k", where, Applied()) == "applied k"
    assert await db.awrite(lambda tx: seen.append(threading.get_ident())) is None
    assert await db.aread(lambda tx: [r[0] for r in tx.execute("SELECT key FROM effects")]) == ["k"]
    assert seen and loop_thread not in seen
    await asyncio.gather(*(db.aapply_once("k", where, Applied()) for _ in range(4)))
    assert effects(db) == ["k"]


def test_opening_waits_for_another_connection_that_holds_the_file_instead_of_failing(
    tmp_path: Path,
) -> None:
    # A file another process is still creating (rollback journal, write lock held): turning
    # on WAL needs its exclusive lock, which SQLite refuses at once rather than waiting.
    path = tmp_path / "shared.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT)")
    opened: list[Database] = []
    opening = threading.Thread(target=lambda: opened.append(Database(path, SCHEMA).open()))
    opening.start()
    opening.join(0.3)
    assert opening.is_alive(), "gave up while the file was held"
    other.execute("COMMIT")
    other.close()
    opening.join(BUSY_TIMEOUT_SECONDS)
    assert opened, "never opened"
    assert opened[0].read(lambda tx: tx.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"


# Long-lived connections ---------------------------------------------------------------------


def open_fds(path: Path) -> int:
    """This process's descriptors on the database's files (the file, its log and index)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(path))
    return count


def connection(db: Database) -> Transaction:
    return db.read(lambda tx: tx)


def test_calls_reuse_one_connection_whatever_their_thread(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    first = connection(db)
    assert db.apply_once("k", lambda tx: (tx is first) and "same", Applied()) == "same"
    other_thread: list[Transaction] = []
    worker = threading.Thread(target=lambda: other_thread.append(connection(db)))
    worker.start()
    worker.join()
    assert other_thread == [first]  # a thread that lives for one call still finds it open
    db.close()


def test_the_write_ahead_log_stays_between_transactions_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = Database(path, SCHEMA)
    db.apply_once("k", effect("k"), Applied())
    assert Path(f"{path}-wal").exists()  # closing the last connection would delete it
    db.close()
    assert not Path(f"{path}-wal").exists()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        effects(db)


def test_a_connection_is_lent_to_one_caller_at_a_time(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    with db.reading() as outer, db.reading() as inner:
        assert outer is not inner
    with db.transaction() as tx:
        assert tx.in_transaction
        tx.execute("INSERT INTO effects VALUES ('k')")
        assert db.read(lambda other: other is not tx and other.in_transaction)
        assert effects(db) == []  # another connection: the write is not visible yet
    assert effects(db) == ["k"]
    db.close()


def test_a_business_refusal_rolls_back_and_its_connection_serves_the_next_call(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    used: list[Transaction] = []

    def refused(tx: Transaction) -> str:
        used.append(tx)
        effect("k")(tx)
        raise ValueError("out of stock")

    with pytest.raises(ValueError):
        db.apply_once("k", refused, Applied())
    assert connection(db) is used[0]
    assert not used[0].in_transaction
    assert effects(db) == []
    db.close()


@pytest.mark.parametrize(
    "failure",
    [
        lambda tx: tx.execute("SELECT * FROM no_such_table"),
        lambda tx: tx.close(),
    ],
    ids=["sqlite error", "closed under it"],
)
def test_a_connection_that_failed_is_dropped_and_replaced(
    tmp_path: Path, failure: Callable[[Transaction], object]
) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    used: list[Transaction] = []

    def failing(tx: Transaction) -> str:
        used.append(tx)
        effect("k")(tx)
        failure(tx)
        return effect("late")(tx)

    with contextlib.suppress(sqlite3.Error):
        db.apply_once("k", failing, Applied())
    replacement = connection(db)
    assert replacement is not used[0]
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not left open for nobody
        used[0].execute("SELECT 1")
    assert db.apply_once("k", effect("k"), Applied()) == "applied k"
    assert effects(db) == ["k"]
    db.close()


def test_an_abandoned_connection_is_never_lent_again(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    abandon, inside, release = Abandon(), threading.Event(), threading.Event()
    used: list[Transaction] = []

    def stuck(tx: Transaction) -> str:
        used.append(tx)
        inside.set()
        release.wait(10)
        return "done"

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(db.apply_once, "k1", stuck, Applied(), abandon)
        assert inside.wait(5)
        abandon.abandon()
        release.set()
        with pytest.raises(sqlite3.ProgrammingError):
            pending.result(5)
    assert connection(db) is not used[0]
    assert db.apply_once("k1", effect("k1"), Applied()) == "applied k1"
    db.close()


def test_abandoning_after_the_commit_leaves_the_connection_to_others(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", SCHEMA)
    abandon = Abandon()
    used: list[Transaction] = []
    db.apply_once("k", lambda tx: used.append(tx) or effect("k")(tx), Applied(), abandon)
    abandon.abandon()  # a time limit that fired just as the handler finished
    assert connection(db) is used[0]
    assert effects(db) == ["k"]
    db.close()


def test_a_read_after_another_writer_sees_its_commit(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db, other = Database(path, SCHEMA), Database(path, SCHEMA)
    assert effects(db) == []
    other.apply_once("k", effect("k"), Applied())  # another process, as far as SQLite knows
    assert effects(db) == ["k"]  # an idle connection holds no old snapshot
    db.close()
    other.close()


def test_thread_lifetimes_leak_no_descriptors(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = Database(path, SCHEMA).open()
    callers = 16

    def one_call(i: int) -> None:
        # A thread per call, as the consumers run their handlers: each lives for one call.
        worker = threading.Thread(target=db.apply_once, args=(f"k{i}", effect(f"k{i}"), Applied()))
        worker.start()
        worker.join()

    def lifetimes(keys: range) -> int:
        with ThreadPoolExecutor(max_workers=callers) as pool:
            list(pool.map(one_call, keys))
        return open_fds(path)

    first = lifetimes(range(300))
    # Two per connection at most (the file and its log) and the shared-memory index: SQLite
    # keeps the file's descriptor of a connection closed while others hold locks on it, and
    # reuses it for the next one opened, so the count follows the callers at once, not how
    # many came and went.
    assert first <= 2 * (callers + IDLE_CONNECTIONS) + 1
    assert lifetimes(range(300, 600)) <= first
    assert lifetimes(range(600, 900)) <= first
    assert len(effects(db)) == 900
    db.close()
    assert open_fds(path) == 0


def test_without_idle_connections_each_call_opens_and_closes_its_own(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = Database(path, SCHEMA, idle_connections=0)  # as before: what `podium bench` compares
    first = connection(db)
    assert db.apply_once("k", effect("k"), Applied()) == "applied k"
    assert connection(db) is not first
    assert not Path(f"{path}-wal").exists()  # the last connection closed took the log with it
    assert open_fds(path) == 0
