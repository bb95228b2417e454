"""Record OrderWorkflow histories for the replay tests: `python -m tests.workflow.record_histories`.

Run it when a deliberate, patched change to the workflow ships, to add histories of the new
shape beside the old ones (never to overwrite the old ones: they are what running workflows
look like).
"""

import asyncio
import sys
from contextlib import suppress

from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.steps import InventoryActivities
from contracts.order import OrderRequest, OrderState, workflow_id_for
from contracts.steps import ReleaseStock, Reservation
from podium.client import cancel_order, order_handle, order_status, place_order, wait_for_state
from services.inventory import InventoryService
from tests.support.factories import an_order
from tests.support.recording import HISTORIES, recording_shop
from tests.support.shop import Shop
from workflows.policies import ROUNDS_PER_RUN

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
    # From v4: a cancel through Temporal before and after the pivot, and a compensation stuck
    # long enough to be flagged for an operator and continue as new.
    "temporal_cancelled": an_order(
        order_id="replay-temporal-cancelled", payment_token="tok_transient_1000"
    ),
    "cancel_too_late": an_order(order_id="replay-cancel-too-late"),
    "stuck": an_order(order_id="replay-stuck", payment_token="tok_declined"),
}


class StuckRelease(InventoryActivities):
    """The stuck scenario's release_stock fails for ROUNDS_PER_RUN + 2 rounds, then works."""

    def __init__(self, inventory: InventoryService) -> None:
        super().__init__(inventory)
        self.failures_left = 5 * (ROUNDS_PER_RUN + 2)

    @activity.defn(name="release_stock")
    def release_stock(self, command: ReleaseStock) -> Reservation:
        if command.key.startswith(f"{workflow_id_for('replay-stuck')}/") and self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("inventory database unreachable")
        return super().release_stock(command)


async def play(env: WorkflowEnvironment, shop: Shop, name: str, order: OrderRequest) -> list[str]:
    """Run one scenario; return its runs' histories (more than one if it continued as new)."""
    # From v6 an order is placed with update-with-start and answered at its pivot.
    answer = asyncio.create_task(place_order(env.client, order, shop.task_queue))
    latest = order_handle(env.client, order.order_id)
    while True:  # started: its status can be asked
        with suppress(RPCError):
            first_run = (await latest.describe()).run_id
            break
        await asyncio.sleep(0.05)
    handle = env.client.get_workflow_handle(latest.id, run_id=first_run)
    if name == "cancelled":
        await wait_for_state(env.client, order.order_id, OrderState.RESERVED)
        await cancel_order(env.client, order.order_id)
    elif name == "temporal_cancelled":
        await wait_for_state(env.client, order.order_id, OrderState.RESERVED)
        await handle.cancel()
    elif name == "cancel_too_late":
        shop.publisher.broker_down = True
        while not (await order_status(env.client, order.order_id)).pivot_passed:
            await asyncio.sleep(0.05)
        await handle.cancel()
        await asyncio.sleep(0.5)
        shop.publisher.broker_down = False
    print(f"{name}: {await answer}")
    # Only a handle from the test environment's own start skips time while awaited; this run
    # was started by update-with-start, so time skipping is unlocked by hand.
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        with suppress(WorkflowFailureError):
            await handle.result()
    histories = []
    run_id = (await latest.describe()).run_id  # the last run: walk back to the first
    while run_id:
        run = env.client.get_workflow_handle(handle.id, run_id=run_id)
        history = await run.fetch_history()
        histories.append(history.to_json())
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
    return histories[::-1]


async def record(version: str) -> None:
    async with recording_shop() as (env, shop):
        stuck = StuckRelease(shop.inventory)
        async with shop.worker(stuck.release_stock):
            for name, order in SCENARIOS.items():
                for index, history in enumerate(await play(env, shop, name, order)):
                    suffix = f"-run{index + 1}" if index else ""
                    target = HISTORIES / f"{version}-{name}{suffix}.json"
                    target.write_text(history)
                    print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
