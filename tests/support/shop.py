"""A shop for the time-skipping tests: real services, a worker, a recording publisher."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from contracts.events import OrderEvent
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from workers.runtime.log_context import ActivityLogContext
from workers.worker import ORDER_WORKFLOWS, order_activities

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
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    task_queue: str = field(default_factory=lambda: f"orders-{uuid.uuid4()}")

    @asynccontextmanager
    async def worker(self, *replacements: Callable[..., Any]) -> AsyncIterator[Worker]:
        """Run a worker; `replacements` stand in for the activities of the same name."""
        activities = {
            _name(fn): fn
            for fn in order_activities(self.orders, self.inventory, self.payments, self.publisher)
        }
        activities.update({_name(fn): fn for fn in replacements})
        with ThreadPoolExecutor(8) as threads:
            async with Worker(
                self.client,
                task_queue=self.task_queue,
                workflows=ORDER_WORKFLOWS,
                activities=list(activities.values()),
                activity_executor=threads,
                interceptors=[ActivityLogContext()],  # as the production worker has
            ) as worker:
                yield worker


def _name(fn: Callable[..., Any]) -> str:
    return fn.__temporal_activity_definition.name  # type: ignore[attr-defined]
