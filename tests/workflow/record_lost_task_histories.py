"""Record the histories of cancels that meet a charged order after a lost workflow task:
`python -m tests.workflow.record_lost_task_histories v10`.

A customer's cancel and a Temporal cancel, each once with the pivot passed in the lost task
(the order completes) and once without (it is undone). Run it only when this command sequence
changes deliberately (behind a new patch), to add histories beside the old ones.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from podium.client import outcome
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from tests.support.factories import an_order
from tests.support.servers import register_search_attributes
from tests.support.shop import CATALOGUE, Shop
from tests.support.split_workers import charged_then_cancelled_while_away
from workers.runtime.payloads import PLAIN_CONVERTER

HISTORIES = Path(__file__).parent.parent / "histories"

SCENARIOS = {
    "cancel_after_lost_confirm": ("update", True),
    "temporal_cancel_after_lost_confirm": ("temporal", True),
    "cancel_after_charge": ("update", False),
    "temporal_cancel_after_charge": ("temporal", False),
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
            data_dir=Path(tmp),
        )
        for name, (cancel, lost_confirm) in SCENARIOS.items():
            order = an_order(order_id=f"replay-{name.replace('_', '-')}")
            handle = await charged_then_cancelled_while_away(shop, order, cancel, lost_confirm)
            async with shop.worker():
                print(name, (await outcome(handle)).state)
            target = HISTORIES / f"{version}-{name}.json"
            target.write_text((await handle.fetch_history()).to_json())
            print(f"wrote {target}")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v10"))
