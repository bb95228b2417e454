"""SQLite plumbing shared by the services: one transaction per operation, run at most once."""

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from services.errors import IdempotencyConflict

BUSY_TIMEOUT_SECONDS = 10.0

M = TypeVar("M", bound=BaseModel)

_IDEMPOTENCY_TABLE = """CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL)"""


class Database:
    """One service's SQLite file.

    A fresh connection per operation and `BEGIN IMMEDIATE` for every write make it safe to
    share between threads and processes: writers queue on the file lock (WAL lets readers on).
    """

    def __init__(self, path: str | Path, schema: Sequence[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        with self.transaction() as conn:
            for statement in (_IDEMPOTENCY_TABLE, *schema):
                conn.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot, never blocks writers."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")


def fingerprint(operation: str, params: Mapping[str, Any]) -> str:
    canonical = json.dumps([operation, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def has_result(conn: sqlite3.Connection, key: str) -> bool:
    return conn.execute("SELECT 1 FROM idempotency WHERE key = ?", (key,)).fetchone() is not None


def run_once(
    db: Database,
    key: str,
    operation: str,
    params: Mapping[str, Any],
    result_type: type[M],
    effect: Callable[[sqlite3.Connection], M],
) -> M:
    """Apply `effect` once per key, recording its result in the same transaction.

    A repeat with the same parameters returns the recorded result; with other parameters it
    raises IdempotencyConflict.
    """
    expected = fingerprint(operation, params)
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is not None:
            if row[0] != expected:
                raise IdempotencyConflict(key)
            return result_type.model_validate_json(row[1])
        # A BusinessError raised here rolls back and records nothing: the workflow treats it as
        # non-retryable, and the inputs that caused it (stock, token) decide again if asked.
        result = effect(conn)
        conn.execute(
            "INSERT INTO idempotency (key, fingerprint, result) VALUES (?, ?, ?)",
            (key, expected, result.model_dump_json()),
        )
        return result
