"""`podium place` as a person runs it, on the real dev server: the answer at the pivot by
default, the final state with --wait-for-outcome, and the documented exit codes."""

import asyncio
import uuid

import pytest
from temporalio.client import Client

from contracts.order import workflow_id_for
from podium.cli import exits, main
from tests.integration.test_early_return import GatedPublisher
from tests.integration.test_operator_actions import temporal_cli
from tests.support.running import cli_in_process
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_in_process(settings, monkeypatch)


async def podium(*argv: str) -> int:
    return await asyncio.to_thread(main, ["place", "--item", "MUG-BLUE:2:12.50", *argv])


async def test_place_prints_the_answer_at_the_pivot_and_exits_by_it(
    settings: Settings, temporal: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    publisher = GatedPublisher()  # nothing is published: each answer comes before
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(120):
        assert await podium("--order-id", f"cli-ok-{tag}") == exits.OK
        assert await podium("--order-id", f"cli-no-{tag}", "--token", "tok_declined") == (
            exits.ORDER_NOT_COMPLETED
        )
        # Other contents under a taken id: refused, nothing started.
        assert (
            await podium("--order-id", f"cli-ok-{tag}", "--token", "tok_other") == exits.BAD_INPUT
        )
        assert publisher.events == []
        publisher.gate.set()
        assert await podium("--order-id", f"cli-all-{tag}", "--wait-for-outcome") == exits.OK
        assert await podium("--order-id", f"cli-now-{tag}", "--no-wait") == exits.OK
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert f"order cli-ok-{tag}: confirmed 25.00 EUR" in lines
    assert any(
        line.startswith(f"order cli-no-{tag}: not confirmed 25.00 EUR (card_declined: ")
        for line in lines
    )
    assert f"order cli-all-{tag}: COMPLETED 25.00 EUR" in lines
    assert any(line.startswith(f"order cli-now-{tag} submitted: ") for line in lines)
    assert f"podium: order cli-ok-{tag} was already placed with different contents" in printed.err
    assert "Traceback" not in printed.err


def test_the_two_ways_of_waiting_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["place", "--item", "MUG-BLUE:1:1.00", "--no-wait", "--wait-for-outcome"])
    assert exited.value.code == exits.BAD_INPUT
    assert "not allowed with argument" in capsys.readouterr().err


async def test_placing_an_order_whose_run_was_terminated_says_so_and_points_to_reconcile(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    order_id = f"cli-term-{uuid.uuid4().hex[:8]}"
    assert await podium("--order-id", order_id, "--no-wait") == exits.OK  # no worker: it waits
    temporal_cli(settings, "workflow", "terminate", "--workflow-id", workflow_id_for(order_id))

    assert await podium("--order-id", order_id) == exits.ORDER_NOT_COMPLETED

    printed = capsys.readouterr()
    assert f"order {order_id}: its workflow run ended TERMINATED" in printed.out
    assert "`podium reconcile` gives back what it holds" in printed.out
    assert "Traceback" not in printed.err
