"""A refused order is not counted as a failed workflow or a failed activity in the worker's
metrics (benign errors), while a real failure still is: a retried charge, a given-up order."""

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from contracts.order import OrderState
from contracts.steps import Reservation, ReserveStock
from infra.stack.ports import free_port
from podium.client import place_order
from tests.observability.test_metrics import _scrape
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.metrics import temporal_runtime
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration


@activity.defn(name="reserve_stock")
def broken_reserve(command: ReserveStock) -> Reservation:
    raise ApplicationError("inventory data corrupt", type="InventoryCorrupt", non_retryable=True)


def _total(text: str, name: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


async def test_refusals_count_no_failure_but_a_retried_error_does(
    settings: Settings, event_tap: object
) -> None:
    settings = settings.model_copy(update={"metrics_port": free_port()})
    runtime = temporal_runtime(settings)
    assert runtime is not None
    client: Client = await connect_temporal(settings, runtime=runtime)
    refused = [an_order(payment_token="tok_declined"), an_order(payment_token="tok_fraud")]
    async with running_worker(client, settings), asyncio.timeout(60):
        for order in refused:
            result = await place_order(client, order, settings.task_queue, wait="outcome")
            assert result.state == OrderState.FAILED
        before = await _scrape(settings.metrics_port)
        retried = an_order(payment_token="tok_transient_1")  # the gateway fails once
        result = await place_order(client, retried, settings.task_queue, wait="outcome")
        assert result.state == OrderState.COMPLETED
        after = await _scrape(settings.metrics_port)
    async with running_worker(client, settings, replacements=[broken_reserve]), asyncio.timeout(60):
        result = await place_order(client, an_order(), settings.task_queue, wait="outcome")
        assert result.failure is not None and result.failure.code == "reserve_stock_failed"
        # The worker counts the failed run once its last workflow task is done, which may come
        # just after the client read the outcome: scrape until it shows (bounded by the timeout).
        given_up = await _scrape(settings.metrics_port)
        while _total(given_up, "temporal_workflow_failed_total") < 1:
            await asyncio.sleep(0.2)
            given_up = await _scrape(settings.metrics_port)

    assert _total(before, "temporal_workflow_failed_total") == 0
    assert _total(before, "temporal_activity_execution_failed_total") == 0
    assert _total(after, "temporal_activity_execution_failed_total") == 1
    assert _total(given_up, "temporal_workflow_failed_total") == 1
