"""PostgreSQL, for more than one machine: the same `Database` as adapters/sqlite.py (what both
offer is in adapters/sql.py) on a psycopg 3 connection pool.

Each database is a schema of its own in the shared PostgreSQL database: the pool's connections
search only that schema, so a service's SQL names its own tables and no one else's. Everything
here blocks, as SQLite's does: code on an event loop calls the `a...` wrappers or runs it on a
thread of its own.

Writers run side by side at READ COMMITTED. A guarded `UPDATE ... WHERE available >= ?` waits
for the row's lock and checks its condition again against the committed row, so stock is never
oversold; what reads a row and then decides takes a named lock first (`Transaction.lock`: a
transaction-level advisory lock), as `apply_once` does for its key.
"""

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool

from adapters import sql
from adapters.sql import Abandon, Dialect, Migrations, Transaction

# As SQLite's busy timeout: waiting longer than this for a connection or a lock means something
# is stuck, and the caller's own retries do better.
WAIT_SECONDS = 10.0
CONNECT_SECONDS = 10
# Per database and process. A transaction holds a connection for milliseconds; the services'
# callers (up to 32 activity threads) queue for one rather than each holding a server process.
# Three workers and two consumer processes (three databases each) then stay at 60 connections
# at most, within PostgreSQL's default limit of 100.
MAX_CONNECTIONS = 4
SCHEMA_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
MAX_SCHEMA_LENGTH = 63  # PostgreSQL's identifier limit


class DatabaseUnavailable(psycopg.OperationalError):
    """The server cannot be reached or refuses the login (said without the password)."""


class Row(tuple[Any, ...]):
    """A row read by position or by column name, as SQLite's `sqlite3.Row`."""

    _names: tuple[str, ...]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names.index(key))
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _rows(cursor: "psycopg.Cursor[Any]") -> RowMaker[Row]:
    names = tuple(column.name for column in cursor.description or ())

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._names = names
        return row

    return make


@functools.lru_cache(maxsize=512)
def _placeholders(query: str) -> str:
    # Our own SQL only, whose literals hold neither `?` nor `%`.
    return query.replace("%", "%%").replace("?", "%s")


class _Transaction:
    dialect: Dialect = "postgresql"

    def __init__(self, conn: "psycopg.Connection[Row]", schema: str) -> None:
        self._conn = conn
        self._schema = schema

    def execute(self, query: str, parameters: Sequence[Any] = (), /) -> "psycopg.Cursor[Row]":
        return self._conn.execute(_placeholders(query), parameters)

    def executemany(
        self, query: str, parameters: Iterable[Sequence[Any]], /
    ) -> "psycopg.Cursor[Row]":
        cursor = self._conn.cursor()
        cursor.executemany(_placeholders(query), list(parameters))
        return cursor

    def lock(self, name: str) -> None:
        # A 64-bit hash of the name in this schema: a collision only makes two keys wait on
        # each other.
        self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{self._schema}/{name}",)
        )


class Database(sql.Database):
    """One schema in a PostgreSQL database, created and migrated by `open` or else on first
    use: constructing one touches nothing. Safe to share between threads and processes.
    `close` when done with it."""

    def __init__(
        self,
        url: str,
        schema: str,
        migrations: Migrations = (),
        seed: Callable[[Transaction], None] | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if (
            not schema
            or len(schema) > MAX_SCHEMA_LENGTH
            or not set(schema) <= SCHEMA_CHARACTERS
            or schema[0].isdigit()
        ):
            raise ValueError(f"bad schema name {schema[:80]!r}: use a-z, 0-9 and _")
        self.schema = schema
        super().__init__(migrations, seed)
        self._url = url
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url,
            kwargs={
                "row_factory": _rows,
                "connect_timeout": CONNECT_SECONDS,
                "options": f"-c search_path={schema}",
            },
            min_size=1,
            max_size=max(1, max_connections),
            timeout=WAIT_SECONDS,
            # A connection the server dropped (a restart) is replaced, not handed out.
            check=ConnectionPool.check_connection,
            num_workers=1,
            name=f"podium-{schema}",
            open=False,
        )

    def _prepare(self) -> None:
        """Create the schema and migrate it."""
        self._check_reachable()
        self._pool.open(wait=True, timeout=WAIT_SECONDS + CONNECT_SECONDS)
        with self._pool.connection() as conn:
            tx = _Transaction(conn, self.schema)
            # Two processes opening at once: the second waits, then finds it migrated.
            tx.lock("podium-migrations")
            conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(self.schema))
            )
            sql.migrate(tx, self._migrations)
            if self._seed is not None:
                self._seed(tx)
            conn.commit()

    def _check_reachable(self) -> None:
        """Fail at once with the server's reason, not after the pool's patience (it keeps
        retrying in the background until its timeout)."""
        try:
            psycopg.connect(self._url, connect_timeout=CONNECT_SECONDS).close()
        except psycopg.OperationalError as err:
            # libpq's message names the host and port, never the password.
            reason = " ".join(str(err).split())[:300]
            raise DatabaseUnavailable(
                f"cannot use PostgreSQL for {self.schema}: {reason}"
            ) from None

    def close(self) -> None:
        """Close the pool's connections; calls after this raise `psycopg_pool.PoolClosed`."""
        self._pool.close()

    @contextmanager
    def transaction(self, abandon: Abandon | None = None) -> Iterator[Transaction]:
        """A write transaction: committed on success, rolled back on any exception.

        Abandoning it ends its server process from another connection: the transaction rolls
        back and its locks are free at once (a handler stuck in it would otherwise hold them
        for as long as it hangs); the effect's next statement fails, and nothing commits.
        """
        self.open()
        with self._pool.connection() as conn:
            if abandon is not None:
                abandon.attach(partial(self._terminate, conn))
            try:
                try:
                    yield _Transaction(conn, self.schema)
                except BaseException:
                    _roll_back(conn)
                    raise
                if abandon is not None and not abandon.detach():
                    _roll_back(conn)
                    raise TimeoutError("transaction abandoned")
                conn.commit()
            finally:
                if abandon is not None:
                    abandon.detach()

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read transaction: one consistent snapshot, never blocks writers."""
        self.open()
        with self._pool.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try:
                yield _Transaction(conn, self.schema)
            finally:
                _roll_back(conn)

    def _terminate(self, conn: "psycopg.Connection[Row]") -> None:
        try:
            with self._pool.connection() as other:
                other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        except psycopg.Error:  # the pool is out of connections, say: at least stop the statement
            conn.cancel_safe()


def _roll_back(conn: "psycopg.Connection[Row]") -> None:
    # A broken connection (the server went away) has nothing left to roll back; the pool
    # discards it when it comes back.
    with contextlib.suppress(psycopg.Error):
        conn.rollback()
