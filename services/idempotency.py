"""The services' idempotency ledger: each key with a fingerprint of its parameters and the
result it gave, recorded in the same transaction as the effect (adapters/sql.py)."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from adapters.sql import Transaction
from services.errors import IdempotencyConflict

M = TypeVar("M", bound=BaseModel)

SCHEMA = """CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL)"""
"""The ledger's table, part of every service's first migration."""


class Idempotency(Generic[M]):
    """The ledger of one operation: a repeat with the same parameters gets the recorded result
    back; with other parameters it raises IdempotencyConflict.

    A BusinessError raised by the effect rolls back and records nothing: the workflow treats it
    as non-retryable, and the inputs that caused it (stock, token) decide again if asked.
    """

    def __init__(self, operation: str, params: Mapping[str, Any], result_type: type[M]) -> None:
        self._fingerprint = fingerprint(operation, params)
        self._result_type = result_type

    def recall(self, tx: Transaction, key: str) -> M | None:
        row = tx.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        if row[0] != self._fingerprint:
            raise IdempotencyConflict(key)
        return self._result_type.model_validate_json(row[1])

    def record(self, tx: Transaction, key: str, result: M) -> None:
        tx.execute(
            "INSERT INTO idempotency (key, fingerprint, result) VALUES (?, ?, ?)",
            (key, self._fingerprint, result.model_dump_json()),
        )


def fingerprint(operation: str, params: Mapping[str, Any]) -> str:
    canonical = json.dumps([operation, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded(tx: Transaction, key: str) -> bool:
    return tx.execute("SELECT 1 FROM idempotency WHERE key = ?", (key,)).fetchone() is not None


def note(tx: Transaction, key: str) -> bool:
    """Record `key` with no result (work done outside a workflow); False if already recorded."""
    if recorded(tx, key):
        return False
    tx.execute(
        "INSERT INTO idempotency (key, fingerprint, result) VALUES (?, ?, '{}')",
        (key, fingerprint("note", {"key": key})),
    )
    return True
