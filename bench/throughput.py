"""One consumer's throughput next to a bare aio-pika consumer, on the same broker.

Each round publishes N order.completed.v1 events once to an exchange bound to two quorum
queues declared alike: the loyalty consumer's queue and a plain one. Then the loyalty consumer
(the real runtime: decode, store transaction with its processed marker, ack) drains its queue,
and a plain consumer that only acks each message drains the other, with the same prefetch;
which one goes first alternates by round. Each stops after N events or its time budget. The
rate is (events - 1) / (last done - first done) for both: connection set-up is not counted.
Both sides use the same prefetch (`PODIUM_CONSUMER_PREFETCH`), printed with the figure, and the
runtime's store transactions are counted (its batches metric) to print events per transaction.
"""

import asyncio
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import REGISTRY

from activities.publisher import EventPublisher
from adapters.rabbitmq import connect
from bench.environment import order_request
from bench.progress import Progress
from consumers import loyalty
from consumers.runtime.runner import declare, running
from consumers.runtime.topology import topology_for
from contracts.events import OrderCompletedV1, OrderSnapshot
from contracts.order import OrderRequest
from workers.bootstrap import consumer_stores, runtime_options
from workers.runtime.settings import Settings

PUBLISH_BATCH = 200
RUNTIME, RAW = "runtime", "raw"


@dataclass
class Rates:
    events: int  # pre-loaded per round
    prefetch: int = 0  # both kinds alike
    per_round: dict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: {RUNTIME: [], RAW: []}
    )
    """Per kind: (events counted, events/s) of each round."""
    transactions: int = 0  # the runtime's store transactions (batches) over all rounds

    def events_per_transaction(self) -> float:
        applied = sum(n for n, _ in self.per_round[RUNTIME])
        return applied / self.transactions if self.transactions else 0.0

    def mean(self, kind: str) -> float:
        rounds = self.per_round[kind]
        return sum(rate for _, rate in rounds) / len(rounds)


def events(count: int) -> list[OrderCompletedV1]:
    tag = uuid.uuid4().hex[:6]
    order = OrderRequest.model_validate(order_request("template"))
    now = datetime.now(UTC)
    return [
        OrderCompletedV1(
            event_id=str(uuid.uuid4()),
            occurred_at=now,
            order=OrderSnapshot(
                order_id=f"bench-{tag}-c{n}",
                customer_id=order.customer_id,
                email=order.email,
                shipping_address=order.shipping_address,
                items=order.items,
                currency=order.currency,
                total=order.total,
            ),
            payment_id=f"pay-{tag}-{n}",
        )
        for n in range(count)
    ]


async def preload(settings: Settings, raw_queue: str, count: int) -> None:
    """Empty both queues, then publish `count` events into them (confirmed, persistent, as
    the workflow publishes)."""
    options = runtime_options(settings)
    await declare(options, [loyalty.CONSUMER])
    main = topology_for([loyalty.CONSUMER], options.topology).queues[0]
    connection = await connect(settings.amqp_url, name="podium-bench", connect_timeout=30)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(settings.exchange)
        raw = await channel.declare_queue(raw_queue, durable=True, arguments=main.arguments)
        await raw.bind(exchange, OrderCompletedV1.ROUTING_KEY)
        await raw.purge()
        await (await channel.get_queue(main.name)).purge()
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=30)
    try:
        batch = events(count)
        for start in range(0, count, PUBLISH_BATCH):
            chunk = batch[start : start + PUBLISH_BATCH]
            await asyncio.gather(*(publisher.publish(e) for e in chunk))
    finally:
        await publisher.close()


def _rate(stamps: list[float]) -> tuple[int, float]:
    span = max(stamps) - min(stamps) if len(stamps) > 1 else 0.0
    return len(stamps), (len(stamps) - 1) / span if span > 0 else 0.0


async def runtime_rate(settings: Settings, count: int, budget: float) -> tuple[int, float]:
    options = runtime_options(settings)
    store = (await consumer_stores(settings, [loyalty.NAME]))[loyalty.NAME]
    before = await asyncio.to_thread(store.processed_count)
    deadline = time.perf_counter() + budget
    async with running([loyalty.CONSUMER], options):
        while (  # noqa: ASYNC110
            await asyncio.to_thread(store.processed_count) < before + count
            and time.perf_counter() < deadline
        ):
            await asyncio.sleep(0.05)
    done = await asyncio.to_thread(store.processed_count) - before
    stamps = await asyncio.to_thread(
        store.read,
        lambda c: [
            datetime.fromisoformat(r[0]).timestamp()
            for r in c.execute(
                "SELECT processed_at FROM processed_events ORDER BY processed_at DESC LIMIT ?",
                (done,),
            )
        ],
    )
    return _rate(stamps)


async def raw_rate(
    settings: Settings, raw_queue: str, count: int, budget: float
) -> tuple[int, float]:
    done = asyncio.Event()
    acked: list[float] = []

    async def on_message(message: AbstractIncomingMessage) -> None:
        await message.ack()
        acked.append(time.perf_counter())
        if len(acked) == count:
            done.set()

    connection = await connect(settings.amqp_url, name="podium-bench", connect_timeout=30)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=settings.consumer_prefetch)
        queue = await channel.get_queue(raw_queue)
        tag = await queue.consume(on_message)
        with suppress(TimeoutError):  # out of time: count what was acked
            await asyncio.wait_for(done.wait(), timeout=budget)
        await queue.cancel(tag)
    return _rate(acked)


async def consumer_throughput(
    settings: Settings, count: int, rounds: int, budget: float, progress: Progress
) -> Rates:
    raw_queue = f"{settings.consumer_queue_prefix}.raw"
    rates = Rates(events=count, prefetch=settings.consumer_prefetch)
    batches_before = _batches()
    progress.phase(f"consumer throughput, {rounds} x {count} events", rounds * 3)
    for r in range(rounds):
        await preload(settings, raw_queue, count)
        progress.advance()
        for kind in (RAW, RUNTIME) if r % 2 == 0 else (RUNTIME, RAW):
            measured = (
                await raw_rate(settings, raw_queue, count, budget)
                if kind == RAW
                else await runtime_rate(settings, count, budget)
            )
            rates.per_round[kind].append(measured)
            progress.advance()
    rates.transactions = int(_batches() - batches_before)
    return rates


def _batches() -> float:
    labels = {"consumer": loyalty.NAME}
    return REGISTRY.get_sample_value("podium_consumer_batches_total", labels) or 0.0
