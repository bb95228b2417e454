"""A compensation that keeps failing is flagged for an operator and keeps retrying without
growing one run's history past a bound: the saga continues as new, carrying what is left."""

import asyncio
import socket
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from activities.steps import InventoryActivities
from contracts.order import OrderState
from contracts.steps import ReleaseStock, Reservation
from podium.cli.orders import describe_status
from podium.client import order_handle, order_status, outcome, place_order
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from tests.support.factories import an_order
from tests.support.servers import register_search_attributes, venv_binary
from tests.support.shop import CATALOGUE, Shop
from workers.runtime.payloads import PLAIN_CONVERTER
from workflows.policies import MAX_STEP_RECORDS, NEEDS_OPERATOR_AFTER_ROUNDS, ROUNDS_PER_RUN
from workflows.visibility import NEEDS_OPERATOR, ORDER_STATUS


class BrokenRelease(InventoryActivities):
    """release_stock fails until the test repairs it, like a database down for days."""

    def __init__(self, inventory: InventoryService) -> None:
        super().__init__(inventory)
        self.broken = True
        self.calls = 0

    @activity.defn(name="release_stock")
    def release_stock(self, command: ReleaseStock) -> Reservation:
        self.calls += 1
        if self.broken:
            raise RuntimeError("inventory database unreachable")
        return super().release_stock(command)


async def test_a_stuck_compensation_needs_an_operator_continues_as_new_then_finishes(
    shop: Shop,
) -> None:
    broken = BrokenRelease(shop.inventory)
    order = an_order(payment_token="tok_declined")
    async with shop.worker(broken.release_stock):
        first = await place_order(shop.client, order, shop.task_queue, wait="started")
        first_run = first.result_run_id
        ending = asyncio.create_task(outcome(first))  # lets the test server skip time
        async with asyncio.timeout(60):
            while True:
                latest = await order_handle(shop.client, order.order_id).describe()
                if latest.run_id != first_run:
                    break
                await asyncio.sleep(0.1)
            while (
                status := await order_status(shop.client, order.order_id)
            ).needs_operator is None:
                await asyncio.sleep(0.1)
        flagged = await order_handle(shop.client, order.order_id).describe()
        # Placed again while its undo runs on in the continued run: answered at once.
        async with asyncio.timeout(30):
            answer = await place_order(shop.client, order, shop.task_queue)
        broken.broken = False
        result = await ending
        final = await order_status(shop.client, order.order_id)
        last_description = await order_handle(shop.client, order.order_id).describe()
        first_description = await shop.client.get_workflow_handle(
            first.id, run_id=first_run
        ).describe()
        first_history = await shop.client.get_workflow_handle(
            first.id, run_id=first_run
        ).fetch_history()

    # The stuck compensation was visible to people and tools while it kept failing.
    assert status.needs_operator is not None
    assert status.needs_operator.compensation == "release_stock"
    assert status.needs_operator.rounds >= NEEDS_OPERATOR_AFTER_ROUNDS
    assert "unreachable" in status.needs_operator.last_error
    assert flagged.typed_search_attributes.get(ORDER_STATUS) == NEEDS_OPERATOR
    assert "NEEDS AN OPERATOR: release_stock failed" in describe_status(status)
    assert not answer.confirmed and answer.failure is not None
    assert answer.failure.code == "card_declined"
    # One run held a bounded number of rounds, then the saga carried on in a new run.
    assert first_description.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert len(first_history.events) < 20 * ROUNDS_PER_RUN
    assert broken.calls > 5 * ROUNDS_PER_RUN
    # Repaired, the same compensations finish with the same keys and the order fails cleanly,
    # its last run failed like a run that never got stuck.
    assert result.state == OrderState.FAILED
    assert last_description.status == WorkflowExecutionStatus.FAILED
    assert result.compensated == ["release_stock", "cancel_order"]
    assert final.needs_operator is None
    assert len(final.steps) <= MAX_STEP_RECORDS
    assert [s.step for s in final.steps if s.outcome == "compensated"] == [
        "release_stock",
        "cancel_order",
    ]
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert event.event_id == result.event_id
    assert event.compensated == ["release_stock", "cancel_order"]


async def test_a_stuck_compensation_is_counted_on_the_workers_prometheus_endpoint(
    tmp_path: Path,
) -> None:
    port = _free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=PLAIN_CONVERTER,
        test_server_existing_path=venv_binary("temporal-test-server"),
        runtime=runtime,
    )
    try:
        await register_search_attributes(env.client)
        shop = Shop(
            client=env.client,
            orders=OrderService(tmp_path / "orders.db"),
            inventory=InventoryService(tmp_path / "inventory.db", CATALOGUE),
            payments=PaymentService(tmp_path / "payments.db"),
            data_dir=tmp_path,
        )
        broken = BrokenRelease(shop.inventory)
        order = an_order(payment_token="tok_declined")
        async with shop.worker(broken.release_stock):
            handle = await place_order(shop.client, order, shop.task_queue, wait="started")
            ending = asyncio.create_task(outcome(handle))
            async with asyncio.timeout(60):
                while (await order_status(shop.client, order.order_id)).needs_operator is None:
                    await asyncio.sleep(0.1)
            text = await asyncio.to_thread(_scrape, port)
            broken.broken = False
            await ending
    finally:
        await env.shutdown()

    samples = {
        (s.name, s.labels.get("compensation", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("podium_orders_needing_operator_total", "release_stock")] == 1
    assert (
        samples[("podium_compensation_failed_rounds_total", "release_stock")]
        >= NEEDS_OPERATOR_AFTER_ROUNDS
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())
