"""Where the history recorders (`tests/workflow/record_*.py`) play their scenarios: the
time-skipping test server with Podium's search attributes, and a shop on fresh SQLite files."""

import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from tests.support.servers import register_search_attributes
from tests.support.shop import CATALOGUE, Shop
from workers.runtime.payloads import PLAIN_CONVERTER

HISTORIES = Path(__file__).parent.parent / "histories"


@asynccontextmanager
async def recording_shop() -> AsyncIterator[tuple[WorkflowEnvironment, Shop]]:
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=PLAIN_CONVERTER, test_server_existing_path=str(binary)
    )
    try:
        await register_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            yield (
                env,
                Shop(
                    client=env.client,
                    orders=OrderService(folder / "orders.db"),
                    inventory=InventoryService(folder / "inventory.db", CATALOGUE),
                    payments=PaymentService(folder / "payments.db"),
                    data_dir=folder,
                ),
            )
    finally:
        await env.shutdown()
