"""A consumer's own SQLite database: its read model or outbox, plus the processed-event ids."""

import sqlite3
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


class Store:
    def __init__(self, path: Path, schema: str = "") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_PROCESSED + schema)

    def apply(
        self, event_id: str, routing_key: str, effect: Callable[[sqlite3.Connection], None]
    ) -> bool:
        """Run `effect` and mark the event processed in one transaction; False if already done."""
        with self._connection() as conn:
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
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()
