"""When the consumers' effects happened, read from the consumers' own stores afterwards.

Analytics and loyalty stamp `processed_at` in the transaction that applies the effect; the
notifications consumer's effect is the email, stamped `sent_at` in its outbox once SMTP took it.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from adapters.sql import Transaction
from consumers import analytics, loyalty, notifications
from consumers.runtime.store import Store
from workers.bootstrap import consumer_stores
from workers.runtime.settings import Settings

_PROCESSED = "SELECT event_id, processed_at AS at FROM processed_events"
_SENT = "SELECT event_id, sent_at AS at FROM outbox WHERE sent_at IS NOT NULL"
QUERIES = {notifications.NAME: _SENT, analytics.NAME: _PROCESSED, loyalty.NAME: _PROCESSED}


def _times(query: str) -> Callable[[Transaction], dict[str, datetime]]:
    def run(c: Transaction) -> dict[str, datetime]:
        return {r["event_id"]: datetime.fromisoformat(r["at"]) for r in c.execute(query).fetchall()}

    return run


def _count(query: str) -> Callable[[Transaction], int]:
    def run(c: Transaction) -> int:
        return int(c.execute(f"SELECT count(*) FROM ({query}) AS done").fetchone()[0])

    return run


@dataclass(frozen=True)
class EffectsDone:
    stores: dict[str, Store]

    @classmethod
    async def of(cls, settings: Settings) -> "EffectsDone":
        return cls(await consumer_stores(settings))

    def done(self) -> dict[str, dict[str, datetime]]:
        """Per consumer: event id -> when its effect was done."""
        return {name: self.stores[name].read(_times(q)) for name, q in QUERIES.items()}

    def fewest_done(self) -> int:
        return min(self.stores[name].read(_count(q)) for name, q in QUERIES.items())

    async def settled(self, expected: int) -> float:
        """Wait (2 minutes at most) until every consumer has done `expected` events; how long."""
        started = time.perf_counter()
        async with asyncio.timeout(120):
            while await asyncio.to_thread(self.fewest_done) < expected:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return time.perf_counter() - started


def lags(
    event_ids: list[str], occurred: dict[str, datetime], done: dict[str, dict[str, datetime]]
) -> list[float]:
    """Seconds from each event's `occurred_at` to the last of its three effects."""
    result = []
    for event_id in event_ids:
        last = max(times[event_id] for times in done.values())
        result.append((last - occurred[event_id]).total_seconds())
    return result
