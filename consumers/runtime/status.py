"""How each consumer is doing: its queue depths (from the broker, by passive declares) and
its breaker as last reported by the consumer processes running on this host."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractConnection

from consumers.runtime import state_file
from consumers.runtime.options import RuntimeOptions


@dataclass(frozen=True)
class ProcessState:
    pid: int
    breaker: str
    failures: int
    since: float
    alive: bool


@dataclass(frozen=True)
class ConsumerStatus:
    name: str
    queued: int | None  # None: the queue is not declared yet
    retrying: int | None
    dead: int | None
    processes: list[ProcessState] = field(default_factory=list)


async def consumer_statuses(options: RuntimeOptions, names: Iterable[str]) -> list[ConsumerStatus]:
    topo = options.topology
    reports = state_file.read_all(options.data_dir)
    connection = await options.connect("podium-status")
    statuses = []
    async with connection:
        for name in names:
            retries = [
                await _depth(connection, topo.retry_queue(name, attempt))
                for attempt in range(1, len(topo.retry_delays_ms) + 1)
            ]
            statuses.append(
                ConsumerStatus(
                    name=name,
                    queued=await _depth(connection, topo.queue(name)),
                    retrying=None if None in retries else sum(r or 0 for r in retries),
                    dead=await _depth(connection, topo.dead_letter_queue(name)),
                    processes=[
                        ProcessState(
                            r.pid, r.breaker, r.failures, r.since, state_file.is_alive(r.pid)
                        )
                        for r in reports
                        if r.consumer == name
                    ],
                )
            )
    return statuses


async def _depth(connection: AbstractConnection, queue: str) -> int | None:
    # A passive declare of a missing queue closes its channel: one short channel per queue.
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
    except aio_pika.exceptions.ChannelClosed:
        return None
    finally:
        if not channel.is_closed:
            await channel.close()
    return int(declared.declaration_result.message_count or 0)
