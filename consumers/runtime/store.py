"""A consumer's own database (a SQLite file, or a schema in PostgreSQL): its read model or
outbox, plus the processed-event ids."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from adapters.sql import Abandon, Transaction
from adapters.storage import Location, database

T = TypeVar("T")

_PROCESSED = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY,
    routing_key TEXT NOT NULL,
    processed_at TEXT NOT NULL
);
"""


class _Processed:
    """The ledger of processed events: a redelivered event is recalled as not applied again."""

    def __init__(self, routing_key: str) -> None:
        self._routing_key = routing_key

    def recall(self, tx: Transaction, key: str) -> bool | None:
        row = tx.execute("SELECT 1 FROM processed_events WHERE event_id = ?", (key,)).fetchone()
        return None if row is None else False

    def record(self, tx: Transaction, key: str, result: bool) -> None:
        tx.execute(
            "INSERT INTO processed_events VALUES (?, ?, ?)",
            (key, self._routing_key, datetime.now(UTC).isoformat()),
        )


@dataclass(frozen=True)
class Change:
    """One event's effect, to be applied in a batch with others."""

    event_id: str
    routing_key: str
    effect: Callable[[Transaction], None]


class Store:
    """Opened on first use: constructing one is safe on an event loop."""

    def __init__(self, location: Location, schema: str | tuple[str, ...] = "") -> None:
        """`schema`: the consumer's tables, as one script (its only version) or as its
        versions, first one first (adapters/sql.py migrations); the processed-event ids are
        created with the first."""
        self.location = location
        first, *later = (schema,) if isinstance(schema, str) else schema or ("",)
        self._db = database(location, (f"{_PROCESSED};\n{first}", *later))

    def close(self) -> None:
        self._db.close()

    def apply(
        self,
        event_id: str,
        routing_key: str,
        effect: Callable[[Transaction], None],
        abandon: Abandon | None = None,
    ) -> bool:
        """Run `effect` and mark the event processed in one transaction; False if already done."""

        def applied(tx: Transaction) -> bool:
            effect(tx)
            return True

        return self._db.apply_once(event_id, applied, _Processed(routing_key), abandon)

    def apply_batch(self, changes: Sequence[Change], abandon: Abandon | None = None) -> list[bool]:
        """Apply every change and mark each event processed, all in one transaction: True for
        each applied, False for one already done (before, or earlier in the same batch). Any
        exception rolls back the whole batch."""
        with self._db.transaction(abandon) as tx:
            applied = []
            for change in changes:
                ledger = _Processed(change.routing_key)
                # As apply_once: a redelivery racing in another process waits for this one.
                tx.lock(change.event_id)
                if ledger.recall(tx, change.event_id) is not None:
                    applied.append(False)
                    continue
                change.effect(tx)
                ledger.record(tx, change.event_id, True)
                applied.append(True)
            return applied

    def read(self, query: Callable[[Transaction], T]) -> T:
        return self._db.read(query)

    def write(self, change: Callable[[Transaction], T]) -> T:
        return self._db.write(change)

    async def aread(self, query: Callable[[Transaction], T]) -> T:
        return await self._db.aread(query)

    async def awrite(self, change: Callable[[Transaction], T]) -> T:
        return await self._db.awrite(change)

    def processed_count(self) -> int:
        return self.read(
            lambda c: int(c.execute("SELECT count(*) FROM processed_events").fetchone()[0])
        )
