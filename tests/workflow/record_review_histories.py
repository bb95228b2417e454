"""Record the manual review's histories for the replay tests:
`python -m tests.workflow.record_review_histories v8`.

Each order is held for review, then approved, rejected, left to time out, or cancelled by its
customer or through Temporal while it waits. Run it only when the review's command sequence
changes deliberately (behind a new patch), to add histories beside the old ones.
"""

import asyncio
import sys
from contextlib import suppress

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from contracts.order import OrderRequest, OrderState
from podium.client import cancel_order, order_handle, place_order
from podium.review import approve_order, reject_order
from tests.support.factories import an_order
from tests.support.recording import HISTORIES, recording_shop

LARGE = [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "1500.00"}]

SCENARIOS = {
    "review_approved": an_order(order_id="replay-review-approved", items=LARGE),
    "review_rejected": an_order(order_id="replay-review-rejected", items=LARGE),
    "review_timeout": an_order(order_id="replay-review-timeout", payment_token="tok_review"),
    "review_cancelled": an_order(order_id="replay-review-cancelled", items=LARGE),
    "review_temporal_cancelled": an_order(order_id="replay-review-temporal-cancelled", items=LARGE),
}


async def play(env: WorkflowEnvironment, name: str, order: OrderRequest, queue: str) -> str:
    answer = await place_order(env.client, order, queue)
    assert answer.state == OrderState.AWAITING_REVIEW, answer
    handle = order_handle(env.client, order.order_id)
    if name == "review_approved":
        await approve_order(env.client, order.order_id, reviewer="grace", reason="known customer")
    elif name == "review_rejected":
        await reject_order(env.client, order.order_id, reviewer="grace", reason="card reported")
    elif name == "review_cancelled":
        await cancel_order(env.client, order.order_id)
    elif name == "review_temporal_cancelled":
        await handle.cancel()
    # Started by update-with-start: time skipping is unlocked by hand (the timeout's 24 h).
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        with suppress(WorkflowFailureError):
            print(f"{name}: {await handle.result()}")
    return (await handle.fetch_history()).to_json()


async def record(version: str) -> None:
    async with recording_shop() as (env, shop), shop.worker():
        for name, order in SCENARIOS.items():
            target = HISTORIES / f"{version}-{name}.json"
            target.write_text(await play(env, name, order, shop.task_queue))
            print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v8"))
