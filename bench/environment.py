"""Where the benchmark runs: the running local stack, with everything of its own beside it.

The bench never touches the demo's data: its own task queues, exchange and consumer queue
prefix (`podium-bench-<tag>`), its own service and consumer databases (a fresh folder, stock
large enough for every order), and its own SMTP server process on a free port, so thousands of
bench emails do not land in the demo's mail folder. Queues, exchanges and data go at the end.
"""

import asyncio
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.rabbitmq import connect
from consumers.registry import all_consumers
from consumers.runtime.topology import topology_for
from infra.stack.ports import free_port
from podium.cli.order_input import SAMPLE_ADDRESS
from services.inventory import InventoryService
from workers.bootstrap import runtime_options, service_location
from workers.runtime.settings import Settings

SKU = "MUG-BLUE"
BENCH_STOCK = 10**9
# Every task queue, exchange and consumer queue of a run starts with this.
BENCH_PREFIX = "podium-bench-"


@dataclass(frozen=True)
class BenchEnv:
    tag: str
    folder: Path  # this run's scratch folder, removed at the end
    hybrid: Settings  # the podium worker, its consumers and the bare workflow
    orchestrated: Settings  # the all-orchestrated worker: its own service and effect stores
    consumer_only: Settings  # the consumer-throughput phase: another prefix and exchange


def bench_settings(base: Settings, prefix: str, data_dir: Path, **changes: Any) -> Settings:
    return Settings(
        **{
            **base.model_dump(),
            "task_queue": prefix,
            "exchange": f"{prefix}.orders",
            "consumer_queue_prefix": prefix,
            "data_dir": data_dir,
            # Each run's databases are SQLite files in its folder, removed after it, even where
            # the user's own data lives in PostgreSQL.
            **dict.fromkeys(
                (
                    "database_url",
                    "orders_database_url",
                    "inventory_database_url",
                    "payments_database_url",
                )
            ),
            # A side effect that fails is retried soon rather than in 30 s; none should.
            "consumer_retry_delays_ms": [200],
            **changes,
        }
    )


def order_request(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": "cust-bench",
        "email": "bench@example.com",
        "shipping_address": SAMPLE_ADDRESS,
        "items": [{"sku": SKU, "quantity": 1, "unit_price": "12.50"}],
        "currency": "EUR",
        "payment_token": "tok_visa",
    }


@contextmanager
def mail_server(folder: Path) -> Iterator[int]:
    """The debugging SMTP server in a process of its own (off this process's GIL)."""
    port = free_port()
    log = (folder / "mailserver.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.mailserver", "--port", str(port), "--dir", str(folder)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bench mail server did not start (see {log.name})")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()
        log.close()


async def delete_broker_objects(settings: Settings, extra_queues: tuple[str, ...] = ()) -> None:
    """Delete every queue and exchange the bench declared under this settings' prefix."""
    topology = topology_for(all_consumers(), runtime_options(settings).topology)
    connection = await connect(settings.amqp_url, name="podium-bench", connect_timeout=10)
    async with connection:
        channel = await connection.channel()
        for name in [q.name for q in topology.queues] + list(extra_queues):
            await channel.queue_delete(name)
        for exchange in topology.exchanges:
            await channel.exchange_delete(exchange.name)


@asynccontextmanager
async def bench_environment(base: Settings, root: Path) -> AsyncIterator[BenchEnv]:
    tag = uuid.uuid4().hex[:6]
    prefix = f"{BENCH_PREFIX}{tag}"
    folder = root / f"run-{tag}"
    (folder / "mail").mkdir(parents=True)
    with mail_server(folder / "mail") as smtp_port:
        mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "mail_dir": folder / "mail"}
        env = BenchEnv(
            tag=tag,
            folder=folder,
            hybrid=bench_settings(base, prefix, folder / "hybrid", **mail),
            orchestrated=bench_settings(base, f"{prefix}-ao", folder / "orchestrated", **mail),
            consumer_only=bench_settings(base, f"{prefix}-c", folder / "consumer", **mail),
        )
        for settings in (env.hybrid, env.orchestrated):
            # Created before the worker opens it, so the worker's catalogue adds nothing.
            InventoryService(service_location(settings, "inventory"), {SKU: BENCH_STOCK}).close()
        try:
            yield env
        finally:
            for settings in (env.hybrid, env.orchestrated, env.consumer_only):
                with suppress(Exception):
                    await delete_broker_objects(
                        settings, (f"{settings.consumer_queue_prefix}.raw",)
                    )
            await asyncio.to_thread(shutil.rmtree, folder, True)
