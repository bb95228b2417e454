"""CPU per order: the order worker alone in a child process (bench/worker_process.py), a
saturated block of orders on its own task queue, and the CPU time the worker process, the
Temporal server and this process (client and consumers) spent meanwhile, read from /proc; the
same for the bare same-shape workflow, for comparison.

The bench's other workers run in this process with the client and the consumers, where their
CPU cannot be told apart; a process of its own is what `podium worker` is in production.
"""

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client

from bench.cpu import Reading
from bench.load import Block, bare_call, closed_loop, order_call
from bench.phases import Rounds, Shared
from bench.shape import Shape
from bench.worker_process import BARE, LOYALTY, READY
from infra.stack.ports import free_port
from workers.runtime.settings import Settings

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Workload:
    label: str
    sandbox: str  # the worker's PODIUM_WORKFLOW_SANDBOX
    bare: bool = False  # the bare same-shape workflow instead of orders


@dataclass
class CpuCost:
    label: str
    block: Block
    used: Reading  # CPU seconds during the block

    @property
    def orders(self) -> int:
        return len(self.block.latencies)


def _revealed(settings: Settings) -> str:
    values: dict[str, Any] = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in settings
    }
    return json.dumps(values, default=str)


@asynccontextmanager
async def worker_process(
    settings: Settings, log: Path, bare: bool = False, *, consumer: bool = False
) -> AsyncIterator[int]:
    """The order worker (or the bare workflow's) in a child process, polling
    `settings.task_queue`, or with `consumer` the loyalty consumer; yields its pid."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.worker_process",
            *([BARE] if bare else [LOYALTY] if consumer else []),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(_revealed(settings).encode())
        await proc.stdin.drain()
        proc.stdin.close()
        line = b""
        with suppress(TimeoutError):
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        if line.strip() != READY:
            text = await asyncio.to_thread(log.read_text, errors="replace")
            tail = text.strip().splitlines()[-5:]
            raise RuntimeError("the bench's worker process did not start: " + " | ".join(tail))
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def cpu_per_order(
    client: Client,
    base: Settings,
    tag: str,
    workload: Workload,
    shape: Shape,
    rounds: Rounds,
    shared: Shared,
    server_pid: int | None,
    log: Path,
) -> CpuCost:
    """One saturated block on a worker process of its own, after a warm-up block (imports,
    caches, connections) that is not counted."""
    queue = f"{base.task_queue}-cpu-{workload.sandbox}{'-bare' if workload.bare else ''}"
    settings = base.model_copy(
        update={
            "task_queue": queue,
            "metrics_port": free_port(),
            "workflow_sandbox": workload.sandbox,
        }
    )
    if workload.bare:
        call = bare_call(client, queue, tag, "j", shape.sequential())
    else:
        call = order_call(client, queue, tag, "k")
    orders = not workload.bare
    shared.progress.phase(f"CPU per order, {workload.label} worker process", rounds.per_round)
    # A worker process that dies would leave its workflows waiting for ever: bounded.
    patience = rounds.budget * 2 + 120
    async with worker_process(settings, log, workload.bare) as pid:
        try:
            async with asyncio.timeout(patience):
                warm = await closed_loop(
                    call, shared.numbers.take(rounds.concurrency), rounds.concurrency, rounds.budget
                )
                if orders:
                    shared.placed.orders += len(warm.latencies)
                before = await asyncio.to_thread(Reading.take, pid, server_pid)
                block = await rounds.block(call, shared, orders=orders)
                after = await asyncio.to_thread(Reading.take, pid, server_pid)
        except TimeoutError:
            raise RuntimeError(
                f"the bench's {workload.label} worker process did not finish in {patience:.0f} s"
            ) from None
    await shared.settled()
    return CpuCost(workload.label, block, after.since(before))
