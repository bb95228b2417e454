"""Time to confirmation and time to the full result of one order, seen by the client.

The order is placed as `podium place` places it: update-with-start, answered once the pivot is
durable (`place_order(..., wait="confirmed")`); the client then waits for the run's result, as
`podium place --wait-for-outcome` does.
"""

import time

from temporalio.client import Client

from contracts.order import OrderRequest, OrderResult
from podium.client import place_order, wait_for_outcome


async def confirm_and_finish(
    client: Client, request: OrderRequest, task_queue: str
) -> tuple[float, float, OrderResult]:
    """Seconds from the start to the confirmation and to the full result, and the result."""
    started = time.perf_counter()
    await place_order(client, request, task_queue, wait="confirmed")
    confirmed = time.perf_counter() - started
    result = await wait_for_outcome(client, request.order_id)
    return confirmed, time.perf_counter() - started, result
