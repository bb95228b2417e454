"""Time to confirmation and time to the full result of one order, seen by the client.

PLACEHOLDER: the early return (`place_order(..., wait="confirmed")`, update-with-start answering
once the pivot is durable) is not on this branch yet, so the confirmation is taken when the full
result arrives and both figures are the same. `MEASURES_CONFIRMATION` says so in the report;
wiring the early return here (time the `wait="confirmed"` answer, then the run's result) and
setting `MEASURES_CONFIRMATION = True` is the only change the bench needs.
"""

import time

from temporalio.client import Client

from contracts.order import OrderRequest, OrderResult
from podium.client import place_order

MEASURES_CONFIRMATION = False


async def confirm_and_finish(
    client: Client, request: OrderRequest, task_queue: str
) -> tuple[float, float, OrderResult]:
    """Seconds from the start to the confirmation and to the full result, and the result."""
    started = time.perf_counter()
    result = await place_order(client, request, task_queue)
    finished = time.perf_counter() - started
    return finished, finished, result
