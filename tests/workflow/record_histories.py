"""Record OrderWorkflow histories for the replay tests: `python -m tests.workflow.record_histories`.

Run it when a deliberate, patched change to the workflow ships, to add histories of the new
shape beside the old ones (never to overwrite the old ones: they are what running workflows
look like).
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.order import OrderState
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from tests.conftest import register_search_attributes
from tests.factories import an_order
from tests.workflow.conftest import CATALOGUE, Shop
from workers.ordering import cancel_order, submit_order, wait_for_state
from workers.runtime.payloads import PLAIN_CONVERTER

HISTORIES = Path(__file__).parent.parent / "histories"

SCENARIOS = {
    "completed": an_order(order_id="replay-completed"),
    "declined": an_order(order_id="replay-declined", payment_token="tok_declined"),
    "out_of_stock": an_order(
        order_id="replay-out-of-stock",
        items=[{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "30"}],
    ),
    "transient": an_order(order_id="replay-transient", payment_token="tok_transient_2"),
    "fraud": an_order(order_id="replay-fraud", payment_token="tok_fraud"),
    "cancelled": an_order(order_id="replay-cancelled", payment_token="tok_transient_1000"),
}


async def record(version: str) -> None:
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=PLAIN_CONVERTER, test_server_existing_path=str(binary)
    )
    await register_search_attributes(env.client)
    with tempfile.TemporaryDirectory() as tmp:
        shop = Shop(
            client=env.client,
            orders=OrderService(Path(tmp) / "orders.db"),
            inventory=InventoryService(Path(tmp) / "inventory.db", CATALOGUE),
            payments=PaymentService(Path(tmp) / "payments.db"),
        )
        async with shop.worker():
            for name, order in SCENARIOS.items():
                handle = await submit_order(env.client, order, shop.task_queue)
                if name == "cancelled":
                    await wait_for_state(env.client, order.order_id, OrderState.RESERVED)
                    await cancel_order(env.client, order.order_id)
                await handle.result()
                history = await handle.fetch_history()
                target = HISTORIES / f"{version}-{name}.json"
                target.write_text(history.to_json())
                print(f"wrote {target}")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
