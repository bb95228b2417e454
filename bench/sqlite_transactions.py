"""The services' SQLite transaction on a connection per call (as before) and on the long-lived
connections a database keeps now: the same effect and idempotency ledger as a service step,
on two files side by side in this run's folder, variants alternating by round.

A connection per call is what closing costs: the last connection to a file checkpoints and
deletes its write-ahead log, so the next one opens and recreates it.
"""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from adapters.sql import Transaction
from adapters.sqlite import Database
from bench.progress import Progress
from services.idempotency import SCHEMA as IDEMPOTENCY
from services.idempotency import Idempotency

PER_CALL = "per_call"
LONG_LIVED = "long_lived"

_SCHEMA = (IDEMPOTENCY, "CREATE TABLE IF NOT EXISTS steps (key TEXT PRIMARY KEY, n INTEGER)")


class _Step(BaseModel):
    key: str


@dataclass
class SqliteCost:
    """Seconds per transaction, every sample, by variant."""

    samples: dict[str, list[float]] = field(default_factory=lambda: {PER_CALL: [], LONG_LIVED: []})
    walls: dict[str, float] = field(default_factory=lambda: {PER_CALL: 0.0, LONG_LIVED: 0.0})


def _block(db: Database, prefix: str, transactions: int) -> tuple[list[float], float]:
    samples = []
    started = time.perf_counter()
    for i in range(transactions):
        key = f"{prefix}-{i}"

        def step(tx: Transaction, key: str = key) -> _Step:
            tx.execute("INSERT INTO steps VALUES (?, 1)", (key,))
            return _Step(key=key)

        begun = time.perf_counter()
        db.apply_once(key, step, Idempotency("bench_step", {"key": key}, _Step))
        samples.append(time.perf_counter() - begun)
    return samples, time.perf_counter() - started


async def sqlite_transactions(
    folder: Path, transactions: int, rounds: int, progress: Progress
) -> SqliteCost:
    """`transactions` per variant and round, one at a time, in a worker thread."""
    progress.phase("services' SQLite: connection per call / kept", transactions * rounds * 2)
    dbs = {
        PER_CALL: Database(folder / "sqlite-per-call.db", _SCHEMA, idle_connections=0),
        LONG_LIVED: Database(folder / "sqlite-long-lived.db", _SCHEMA),
    }
    cost = SqliteCost()
    try:
        for db in dbs.values():
            await asyncio.to_thread(db.open)
        for r in range(rounds):
            for variant in (PER_CALL, LONG_LIVED) if r % 2 == 0 else (LONG_LIVED, PER_CALL):
                samples, wall = await asyncio.to_thread(_block, dbs[variant], f"r{r}", transactions)
                cost.samples[variant] += samples
                cost.walls[variant] += wall
                progress.advance(transactions)
    finally:
        for db in dbs.values():
            await asyncio.to_thread(db.close)
    return cost
