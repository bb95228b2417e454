"""The client commands against the real dev server, with and without a worker."""

import pytest
from temporalio.client import Client

from podium.cli import exits
from podium.cli import orders as commands
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def test_status_shows_the_step_history_while_a_worker_runs(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    order = an_order(payment_token="tok_declined")
    async with running_worker(temporal, settings):
        assert await commands.place(settings, order, wait="outcome") == exits.ORDER_NOT_COMPLETED
        assert await commands.status(settings, order.order_id) == exits.OK
    out = capsys.readouterr().out
    assert f"order {order.order_id}: FAILED" in out
    assert "release_stock    compensated" in out and "cancel_order     compensated" in out


async def test_without_a_worker_status_tells_what_the_server_knows_and_cancel_refuses(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    order = an_order(payment_token="tok_declined")
    async with running_worker(temporal, settings):
        await commands.place(settings, order, wait="outcome")
    capsys.readouterr()
    idle = settings.model_copy(update={"task_queue": "nobody-polls-this-queue"})
    assert await commands.status(idle, order.order_id) == exits.OK
    assert await commands.cancel(idle, order.order_id) == exits.UNAVAILABLE
    assert await commands.status(idle, "no-such-order") == exits.BAD_INPUT
    printed = capsys.readouterr()
    out = printed.out
    assert f"order {order.order_id}: FAILED" in out and "card_declined" in out
    assert "needs a running worker" in out
    assert "no worker is running to accept the cancel" in printed.err
    assert "no order no-such-order" in printed.err


async def test_place_warns_when_no_worker_polls_the_queue(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    idle = settings.model_copy(update={"task_queue": "nobody-polls-this-queue-either"})
    assert await commands.place(idle, an_order(), wait="started") == exits.OK
    printed = capsys.readouterr()
    assert "submitted" in printed.out
    assert "no worker is polling task queue nobody-polls-this-queue-either" in printed.err
