"""What every Podium database offers, whichever engine holds it (adapters/sqlite.py, the
embedded default, or adapters/postgres.py): transactions handing out a `Transaction` with `?`
placeholders, `apply_once`, and versioned migrations run the same way on both.

SQL written against a `Transaction` stays in the subset both engines read alike: `?`
placeholders, `INSERT ... ON CONFLICT`, no engine-only statements. Where they differ:
- locking: `Transaction.lock(name)` holds a named lock until the transaction ends. SQLite's
  writers already queue on the file lock (`BEGIN IMMEDIATE`), so there it costs nothing; on
  PostgreSQL, whose writers run side by side under row locks, it serialises the transactions
  touching one order, charge or reservation, including one whose row does not exist yet;
- column types in migrations: `{money}` (exact decimals) and `{bytes}`, see `TYPES`.
"""

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Dialect = Literal["sqlite", "postgresql"]

# Money stays TEXT on SQLite (whose numbers are floats) and is summed as Decimal in Python;
# PostgreSQL has an exact NUMERIC.
TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {"money": "TEXT", "bytes": "BLOB"},
    "postgresql": {"money": "NUMERIC", "bytes": "BYTEA"},
}

Migrations = Sequence[str]
"""A database's schema as scripts, version 1 first: one opening applies those it lacks, in
order, and records each in `schema_version`. Released scripts never change: a new version
appends one."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    """An open transaction. Rows read from it answer both `row[0]` and `row["name"]`."""

    dialect: Dialect

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def lock(self, name: str) -> None:
        """Hold `name` until this transaction ends (other holders wait)."""


class Ledger(Protocol[R]):
    """Where a database remembers the keys it applied, written in the effect's transaction."""

    def recall(self, tx: Transaction, key: str) -> R | None:
        """What applying `key` gave the first time, or None when it was never applied."""

    def record(self, tx: Transaction, key: str, result: R) -> None:
        """Remember that `key` was applied, with its result."""


class Abandon:
    """Lets a caller give up on a transaction running in another thread (a handler over its
    time limit): the engine stops it from outside (adapters say how) and nothing of it
    commits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None
        self._abandoned = False

    def attach(self, stop: Callable[[], None]) -> None:
        """`stop` ends the transaction from another thread, once it holds its locks."""
        with self._lock:
            if self._abandoned:
                raise TimeoutError("abandoned before it started")
            self._stop = stop

    def detach(self) -> bool:
        """The transaction ended: True when it was not abandoned (its connection is whole and
        it may commit); from now on abandoning touches nothing."""
        with self._lock:
            self._stop = None
            return not self._abandoned

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            stop, self._stop = self._stop, None
        if stop is not None:
            stop()


class Database:
    """The engine-independent half of a database; an adapter supplies the transactions."""

    def __init__(self, migrations: Migrations, seed: Callable[[Transaction], None] | None) -> None:
        self._migrations = tuple(migrations)
        self._seed = seed
        self._ready = False
        self._opening = threading.Lock()

    def open(self) -> "Database":
        """Create and migrate the database now; once: later calls return at once, and calls
        racing the first one wait for it."""
        if not self._ready:
            with self._opening:
                if not self._ready:
                    self._prepare()
                    self._ready = True
        return self

    def _prepare(self) -> None:
        """The adapter's first open: its schema created, `_migrations` then `_seed` applied."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def transaction(self, abandon: Abandon | None = None) -> AbstractContextManager[Transaction]:
        """A write transaction: committed on success, rolled back on any exception."""
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[Transaction]:
        """A read transaction: one consistent snapshot, never blocks writers."""
        raise NotImplementedError

    def read(self, query: Callable[[Transaction], T]) -> T:
        with self.reading() as tx:
            return query(tx)

    def write(self, change: Callable[[Transaction], T]) -> T:
        with self.transaction() as tx:
            return change(tx)

    def apply_once(
        self,
        key: str,
        effect: Callable[[Transaction], R],
        ledger: Ledger[R],
        abandon: Abandon | None = None,
    ) -> R:
        """Apply `effect` once per key and record it in `ledger`, in one transaction.

        A repeat gets what the ledger recalls, also one racing the first: the key is locked
        before it is looked up. An exception from the effect rolls it back and records
        nothing, so the key is free to be applied again.
        """
        with self.transaction(abandon) as tx:
            tx.lock(key)
            recalled = ledger.recall(tx, key)
            if recalled is not None:
                return recalled
            result = effect(tx)
            ledger.record(tx, key, result)
            return result

    async def aopen(self) -> "Database":
        return await asyncio.to_thread(self.open)

    async def aread(self, query: Callable[[Transaction], T]) -> T:
        return await asyncio.to_thread(self.read, query)

    async def awrite(self, change: Callable[[Transaction], T]) -> T:
        return await asyncio.to_thread(self.write, change)

    async def aapply_once(
        self, key: str, effect: Callable[[Transaction], R], ledger: Ledger[R]
    ) -> R:
        return await asyncio.to_thread(self.apply_once, key, effect, ledger)


def migrate(tx: Transaction, migrations: Migrations) -> int:
    """Apply the versions `tx`'s database lacks, in order, inside `tx` (the caller holds the
    lock that keeps two openers from migrating at once); returns the version it is at. No
    migrations at all: a reader of a database someone else keeps, which changes nothing."""
    if not migrations:
        return 0
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    current = int(tx.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
    if current > len(migrations):
        raise RuntimeError(
            f"database schema is at version {current}, newer than this Podium's"
            f" {len(migrations)}: upgrade Podium"
        )
    for version, script in enumerate(migrations[current:], start=current + 1):
        for statement in statements(script.format_map(TYPES[tx.dialect])):
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
            (version, datetime.now(UTC).isoformat()),
        )
    return len(migrations)


def statements(script: str) -> Iterator[str]:
    """A script's statements (our own DDL: no `;` inside a literal)."""
    for part in script.split(";"):
        if part.strip():
            yield part.strip()
