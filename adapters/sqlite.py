"""SQLite, the embedded default engine (adapters/sql.py says what every engine offers; set a
PostgreSQL URL and adapters/postgres.py serves instead).

Each service and each consumer keeps a file and tables of its own; all of them open it the same
way and share one primitive, `Database.apply_once`: apply an effect once per key, recording the
key in the same transaction as the effect, so both commit together or not at all.

Everything here blocks. Code on an event loop calls the `a...` wrappers, which run it in a
worker thread: no SQLite call ever runs on a loop.

Connections outlive the calls that use them. Closing the last connection to a file checkpoints
and deletes its write-ahead log, so a connection per call pays for that, and for opening, every
time: several times the cost of a short transaction on a connection kept open (`podium bench`
measures both). Callers come from thread pools (activities, `asyncio.to_thread`) and from a
new daemon thread per consumer handler call, so a connection per thread would die with each
handler's thread: instead each database keeps a few idle connections and hands one to
whichever thread asks next. A thread holds it for one transaction only.
"""

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from adapters import sql
from adapters.sql import Abandon, Dialect, Migrations, Transaction

# A writer holds the lock for one short transaction (milliseconds): waiting longer than this
# means something is stuck, and the caller's own retries (an activity's retry policy, a
# consumer's retry ladder) do better than a longer wait. It stays below the activities' 10 s
# start-to-close timeout and the consumers' 30 s handler limit.
BUSY_TIMEOUT_SECONDS = 10.0

# Idle connections a database keeps for the next callers. One is enough to keep the log alive;
# a few spare the opening for concurrent callers. More callers at once each open one of their
# own, closed when their transaction ends. A connection holds two file descriptors; SQLite keeps
# the file's one of a closed connection while others are open and reuses it for the next, so a
# process holds about as many as it had callers at once, however many threads came and went.
IDLE_CONNECTIONS = 4


class Connection(sqlite3.Connection):
    """A connection as handed out for a transaction (`adapters.sql.Transaction`)."""

    dialect: Dialect = "sqlite"

    def lock(self, name: str) -> None:
        """Nothing to take: every write transaction holds the file's write lock already."""


class Database(sql.Database):
    """One SQLite file, created and migrated by `open` or else on first use: constructing one
    touches nothing, so it is safe anywhere, an event loop included.

    Safe to share between threads and processes: each call has a connection to itself for
    the length of its transaction, every write begins with `BEGIN IMMEDIATE` (writers queue on
    the file lock) and WAL lets readers on. `close` when done with it.
    """

    def __init__(
        self,
        path: str | Path,
        migrations: Migrations = (),
        seed: Callable[[Transaction], None] | None = None,
        *,
        idle_connections: int = IDLE_CONNECTIONS,
    ) -> None:
        """`migrations`: applied when this object first opens the file (`adapters.sql`), then
        `seed` in the same transaction. `idle_connections`: how many it keeps open between
        calls (0: a connection per call, as `podium bench` compares)."""
        super().__init__(migrations, seed)
        self.path = Path(path)
        self._connections = _Pool(self.path, idle_connections)

    def _prepare(self) -> None:
        """Create the file and its schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connections.lent() as conn:
            _write_ahead_log(conn)
            # One transaction: another process opening the file meanwhile waits for it.
            conn.execute("BEGIN IMMEDIATE")
            try:
                sql.migrate(conn, self._migrations)
                if self._seed is not None:
                    self._seed(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the idle connections, and each one in use when its transaction ends; calls
        after this raise `sqlite3.ProgrammingError`."""
        self._connections.close()

    @contextmanager
    def transaction(self, abandon: Abandon | None = None) -> Iterator[Transaction]:
        """A write transaction: committed on success, rolled back on any exception.

        Abandoning it closes its connection from outside, which rolls the transaction back and
        frees the file for the next writer at once; the effect's next statement fails.
        """
        self.open()
        with self._connections.lent() as conn:
            # Attached once the write lock is held: closing a connection from another thread
            # while SQLite waits for the lock inside a call would free what that call uses.
            conn.execute("BEGIN IMMEDIATE")
            try:
                try:
                    if abandon is not None:
                        abandon.attach(partial(_stop, conn))
                    yield conn
                except BaseException:
                    with contextlib.suppress(sqlite3.ProgrammingError):  # closed: rolled back
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if abandon is not None and not abandon.detach():
                    conn.close()  # never lent again, whatever state abandoning left it in

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read transaction: one consistent snapshot, never blocks writers."""
        self.open()
        with self._connections.lent() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")


def _stop(conn: sqlite3.Connection) -> None:
    # Already closed (the transaction finished meanwhile): nothing left to roll back.
    with contextlib.suppress(sqlite3.ProgrammingError):
        conn.interrupt()  # a long statement stops now
        conn.close()


class _Pool:
    """A database's idle connections, lent to one caller at a time, whatever its thread."""

    def __init__(self, path: Path, size: int) -> None:
        self._path = path
        self._size = size
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._closed = False

    @contextmanager
    def lent(self) -> Iterator[Connection]:
        """A connection for one transaction. It goes back to the idle ones only when whole and
        out of any transaction; after a SQLite error (a closed, interrupted or failing
        connection) or an abandoned transaction, it is closed and the next caller opens anew."""
        conn = self._take()
        try:
            yield conn
        except sqlite3.Error:
            conn.close()
            raise
        finally:
            self._give_back(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self) -> Connection:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"database {self._path.name} is closed")
            if self._idle:
                return self._idle.pop()  # the most recently used: its caches are warm
        return _connect(self._path)

    def _give_back(self, conn: Connection) -> None:
        try:
            whole = not conn.in_transaction
        except sqlite3.ProgrammingError:  # closed
            return
        with self._lock:
            if whole and not self._closed and len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()


def _connect(path: Path) -> Connection:
    # Autocommit mode: every transaction is begun explicitly above. Not bound to a thread: it
    # serves whichever thread borrows it next, and `Abandon` closes a stuck caller's
    # connection from another one.
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
        factory=Connection,
    )
    conn.row_factory = sqlite3.Row
    # Every commit reaches the disk (the WAL is fsynced) before an effect is reported done.
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a property of the file: set once, by whoever opens it first).

    Changing the mode takes the file's exclusive lock and fails at once, without the busy
    handler, while another process holds it (creating the schema, say): check first, retry
    within the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
