"""Keeps this process's state file for one consumer up to date (see `state_file`).

Writes happen in a thread, one at a time, and always write the breaker's latest state, so a
quick succession of changes ends with the file telling the last one.
"""

import asyncio
import os
from pathlib import Path

import structlog

from consumers.runtime import state_file
from consumers.runtime.breaker import Breaker

log = structlog.get_logger(__name__)


class StateReporter:
    def __init__(self, data_dir: Path, consumer: str, breaker: Breaker) -> None:
        self.data_dir = data_dir
        self.consumer = consumer
        self.breaker = breaker
        self._lock = asyncio.Lock()
        self._writes: set[asyncio.Task[None]] = set()

    def changed(self) -> None:
        task = asyncio.create_task(self._write())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def close(self) -> None:
        if self._writes:
            await asyncio.wait(set(self._writes), timeout=5)
        async with self._lock:
            await asyncio.to_thread(state_file.remove, self.data_dir, self.consumer)

    async def _write(self) -> None:
        async with self._lock:
            report = state_file.Report(
                consumer=self.consumer,
                pid=os.getpid(),
                breaker=str(self.breaker.state),
                failures=self.breaker.failures,
                since=self.breaker.since,
                updated_at=state_file.now(),
            )
            try:
                await asyncio.to_thread(state_file.write, self.data_dir, report)
            except OSError as err:  # reporting must never stop consuming
                log.warning("consumer state file not written", error=str(err))
