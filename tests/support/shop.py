"""A shop for the time-skipping tests: real services, a worker, a recording publisher."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from contracts.events import OrderEvent
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from workers.bootstrap import Services, running_worker
from workers.runtime.settings import Settings

CATALOGUE = {"MUG-BLUE": 100, "SOCKS-3PK": 100, "VINYL-LTD": 1}


class RecordingPublisher:
    """Stands in for the broker in time-skipping tests; broker behaviour is tested for real
    in tests/integration."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []
        self.attempts = 0
        self.broker_down = False

    async def publish(self, event: OrderEvent) -> None:
        self.attempts += 1
        if self.broker_down:
            raise ConnectionError("broker unreachable")
        self.events.append(event)


@dataclass
class Shop:
    """Real services on SQLite files, a worker on a fresh task queue, a recording publisher."""

    client: Client
    orders: OrderService
    inventory: InventoryService
    payments: PaymentService
    data_dir: Path
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    task_queue: str = field(default_factory=lambda: f"orders-{uuid.uuid4()}")

    @property
    def settings(self) -> Settings:
        return Settings(task_queue=self.task_queue, data_dir=self.data_dir)

    @property
    def services(self) -> Services:
        return Services(self.orders, self.inventory, self.payments)

    @asynccontextmanager
    async def worker(self, *replacements: Callable[..., Any]) -> AsyncIterator[Worker]:
        """Run a worker; `replacements` stand in for the activities of the same name."""
        async with running_worker(
            self.client,
            self.settings,
            services=self.services,
            publisher=self.publisher,
            replacements=replacements,
        ) as worker:
            yield worker
