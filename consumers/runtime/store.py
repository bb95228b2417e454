"""A consumer's own SQLite database: its read model or outbox, plus the processed-event ids."""

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_PROCESSED = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY,
    routing_key TEXT NOT NULL,
    processed_at TEXT NOT NULL
);
"""


class Abandon:
    """Lets the runtime give up on a handler over its time limit: its connection is closed from
    outside, which rolls its transaction back and frees the store for the next message at once;
    the handler's next statement fails and nothing of it commits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._abandoned = False

    def attach(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._abandoned:
                raise TimeoutError("abandoned before it started")
            self._conn = conn

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            conn, self._conn = self._conn, None
        if conn is not None:
            # Already closed (the handler finished meanwhile): nothing left to roll back.
            with contextlib.suppress(sqlite3.ProgrammingError):
                conn.interrupt()  # a long statement stops now
                conn.close()


class Store:
    def __init__(self, path: Path, schema: str = "") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_PROCESSED + schema)

    def apply(
        self,
        event_id: str,
        routing_key: str,
        effect: Callable[[sqlite3.Connection], None],
        abandon: Abandon | None = None,
    ) -> bool:
        """Run `effect` and mark the event processed in one transaction; False if already done."""
        with self._connection() as conn:
            if abandon is not None:
                abandon.attach(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self._is_processed(conn, event_id):
                    conn.execute("ROLLBACK")
                    return False
                effect(conn)
                conn.execute(
                    "INSERT INTO processed_events VALUES (?, ?, ?)",
                    (event_id, routing_key, datetime.now(UTC).isoformat()),
                )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.ProgrammingError):  # closed: rolled back
                    conn.execute("ROLLBACK")
                raise
        return True

    def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._connection() as conn:
            return query(conn)

    def write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = change(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return result

    def processed_count(self) -> int:
        return self.read(
            lambda c: int(c.execute("SELECT count(*) FROM processed_events").fetchone()[0])
        )

    @staticmethod
    def _is_processed(conn: sqlite3.Connection, event_id: str) -> bool:
        row = conn.execute("SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per call: handlers run in threads, SQLite serialises writers.
        # Not bound to its thread: `Abandon` closes a stuck handler's connection from outside.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()
