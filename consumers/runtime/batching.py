"""Gathers deliveries that arrive together and applies them in one store transaction.

A transaction's cost is mostly its commit (the WAL is fsynced), the same for one event as for
a hundred: applying the deliveries at hand together pays it once. Each delivery's handling
hands its part in with `submit` and waits for its own result; no delivery waits more than
`linger` for others to join it (bounded, so a lone event is barely delayed), then the batch
runs on the consumer's store thread: one thread, kept for the consumer's life, so its
transactions reuse one warm connection and never run on the event loop.

A batch that fails has rolled back. When a handler raised, that delivery gets the error as
its own outcome (retried or dead-lettered alone, as it would have been handled alone) and the
others get `Unbatched`: each is handled again alone, so they apply once. When the batch failed
outside any handler (the commit, say), every delivery is handled again alone.

A batch over its time limit is abandoned (its connection closed, so nothing of it commits and
the file's write lock is free at once); its thread, which cannot be stopped, is left to finish
in the background and the next batch gets a new one. The delivery whose handler it was stuck
in fails with `HandlerTimedOut` (down the retry ladder, alone); the others are handled again
alone. The limit is short (a batch takes milliseconds): a handler stuck inside a transaction
holds the write lock every other transaction on the file waits for, so it is what a stuck
handler can cost the consumer.
"""

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from adapters.sql import Abandon
from consumers.runtime import metrics
from consumers.runtime.outcomes import HandlerTimedOut
from consumers.runtime.threads import awaitable_job

Item = TypeVar("Item")
Result = Any


class Progress:
    """Which item of a batch its thread is at (set by the apply function as it goes)."""

    def __init__(self) -> None:
        self.at: int | None = None


ApplyBatch = Callable[[Sequence[Item], Abandon, Progress], Sequence[Result]]
"""Blocking: one result per item (a value, or an exception that item raises alone)."""


class Unbatched(Exception):
    """The batch failed as a whole and rolled back: handle this delivery alone."""


@dataclass
class _Entry(Generic[Item]):
    item: Item
    result: "asyncio.Future[Result]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    arrived: float = field(default_factory=lambda: asyncio.get_running_loop().time())


class StoreThread:
    """One thread running blocking jobs in turn, for as long as it is not retired."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    async def run(self, job: Callable[[], Result]) -> Result:
        # A context of its own: a batch is no one delivery's (each handler runs in its own).
        step, future = awaitable_job(job, contextvars.Context())
        self._jobs.put(step)
        return await future

    def retire(self) -> None:
        """The thread ends after the jobs given to it so far."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


class Batcher(Generic[Item]):
    def __init__(
        self,
        name: str,
        apply: ApplyBatch[Item],
        max_size: int,
        linger: float,
        time_limit: float,
    ) -> None:
        self.name = name
        self._apply = apply
        self._max_size = max(1, max_size)
        self._linger = linger
        self._time_limit = time_limit
        self._pending: asyncio.Queue[_Entry[Item]] = asyncio.Queue()
        self._thread = StoreThread(f"store-{name}")
        self._collector: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """`item`'s result once its batch committed; raises its own error, or `Unbatched`."""
        if self._collector is None or self._collector.done():
            self._collector = asyncio.create_task(self._collect())
        entry = _Entry(item)
        self._pending.put_nowait(entry)
        return await entry.result

    async def close(self) -> None:
        if self._collector is not None:
            self._collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._collector
        while not self._pending.empty():
            _settle(self._pending.get_nowait(), error=Unbatched("consumer stopping"))
        self._thread.retire()

    async def _collect(self) -> None:
        while True:
            batch = [await self._pending.get()]
            try:
                await self._gather(batch)
                await self._run(batch)
            except asyncio.CancelledError:
                for entry in batch:
                    _settle(entry, error=Unbatched("consumer stopping"))
                raise

    async def _gather(self, batch: list[_Entry[Item]]) -> None:
        # Counted from the first delivery's arrival: one that waited for the previous batch
        # to commit has lingered already, and goes with whatever else is at hand.
        loop = asyncio.get_running_loop()
        deadline = batch[0].arrived + self._linger
        while len(batch) < self._max_size:
            if self._pending.empty():
                left = deadline - loop.time()
                if left <= 0:
                    return
                with contextlib.suppress(TimeoutError):
                    batch.append(await asyncio.wait_for(self._pending.get(), left))
                continue
            batch.append(self._pending.get_nowait())

    async def _run(self, batch: list[_Entry[Item]]) -> None:
        items = [entry.item for entry in batch]
        abandon, progress = Abandon(), Progress()
        limit = asyncio.timeout(self._time_limit)
        try:
            async with limit:
                results = await self._thread.run(lambda: self._apply(items, abandon, progress))
        except Exception as err:
            if isinstance(err, TimeoutError) and limit.expired():  # not a handler's own
                self._abandon(batch, abandon, progress)
            else:
                # A handler's error is its delivery's own (it would have raised alone just
                # the same); a batch of one failed alone already.
                self._fall_back(batch, 0 if len(batch) == 1 else progress.at, err)
            return
        metrics.BATCHES.labels(self.name).inc()
        metrics.BATCH_SIZE.labels(self.name).observe(len(batch))
        for entry, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                _settle(entry, error=result)
            else:
                _settle(entry, value=result)

    def _abandon(self, batch: list[_Entry[Item]], abandon: Abandon, progress: Progress) -> None:
        threading.Thread(target=abandon.abandon, daemon=True).start()
        self._thread.retire()  # stuck in the batch: let it finish alone
        self._thread = StoreThread(f"store-{self.name}")
        # The delivery it was stuck at goes down the retry ladder; the others run again alone.
        stuck = HandlerTimedOut(f"stuck in its batch over {self._time_limit}s")
        self._fall_back(batch, progress.at, stuck)

    def _fall_back(self, batch: list[_Entry[Item]], failed: int | None, err: Exception) -> None:
        """Item `failed` (if known) gets `err`; every other one is handled again alone."""
        if len(batch) > 1:
            metrics.BATCH_FALLBACKS.labels(self.name).inc()
        for index, entry in enumerate(batch):
            _settle(
                entry, error=err if index == failed else Unbatched(f"{type(err).__name__}: {err}")
            )


def _settle(entry: _Entry[Any], value: Result = None, error: Exception | None = None) -> None:
    if entry.result.done():  # its handling was cancelled (shutdown)
        return
    if error is not None:
        entry.result.set_exception(error)
    else:
        entry.result.set_result(value)
