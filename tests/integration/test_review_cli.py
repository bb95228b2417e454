"""`podium review list | approve | reject` as a person runs them, on the real dev server, and
the approve/reject updates sent hostile arguments by the `temporal` CLI: refused in one line,
the order still waiting for its reviewer, no workflow task failed."""

import asyncio
import json
import uuid

import pytest
from temporalio.client import Client

from contracts.order import OrderState
from podium.cli import exits, main
from podium.client import order_status, place_order, wait_for_outcome
from tests.integration.test_hostile_confirmation import no_failed_workflow_task, refused
from tests.integration.test_hostile_input import temporal_cli
from tests.support.factories import an_order
from tests.support.running import cli_in_process
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

LARGE_ITEM = "MUG-BLUE:1:1500.00"  # above the default review threshold


@pytest.fixture(autouse=True)
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_in_process(settings, monkeypatch)


async def podium(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def listed(capsys: pytest.CaptureFixture[str], *order_ids: str) -> str:
    """`podium review list` once the server's visibility store shows every one of them."""
    async with asyncio.timeout(30):
        while True:
            assert await podium("review", "list") == exits.OK
            out = capsys.readouterr().out
            if all(order_id in out for order_id in order_ids):
                return out
            await asyncio.sleep(0.3)


async def test_review_list_approve_and_reject_as_a_person_runs_them(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    kept, refused_, small = f"rv-keep-{tag}", f"rv-drop-{tag}", f"rv-small-{tag}"
    async with running_worker(temporal, settings), asyncio.timeout(180):
        for order_id in (kept, refused_):
            assert await podium("place", "--order-id", order_id, "--item", LARGE_ITEM) == exits.OK
        placed = capsys.readouterr().out
        assert f"order {kept}: awaiting manual review 1500.00 EUR (not charged yet)" in placed
        assert f"podium review approve|reject {kept} --reviewer NAME" in placed
        assert await podium("place", "--order-id", small, "--item", "MUG-BLUE:1:5.00") == exits.OK
        capsys.readouterr()

        out = await listed(capsys, kept, refused_)
        assert "order(s) awaiting review" in out and small not in out
        assert "1500.00 EUR" in out and out.count(", decide by ") == 2
        assert await podium("status", kept) == exits.OK
        status = capsys.readouterr().out
        assert f"order {kept}: AWAITING_REVIEW 1500.00 EUR" in status
        assert "AWAITING REVIEW (1500.00 EUR is above 1000): approve or reject by " in status
        assert "review           awaiting" in status

        assert await podium(
            "review", "approve", kept, "--reviewer", "grace", "--reason", "known customer"
        ) == (exits.OK)
        assert await podium(
            "review", "reject", refused_, "--reviewer", "grace", "--reason", "card reported"
        ) == (exits.OK)
        assert (await wait_for_outcome(temporal, kept)).state == OrderState.COMPLETED
        rejected = await wait_for_outcome(temporal, refused_)
        decided = capsys.readouterr().out

        # Refusals: never flagged, no such order, bad input, and (below) finished.
        assert await podium("review", "approve", small, "--reviewer", "bob", "--reason", "x") == (
            exits.ORDER_NOT_COMPLETED
        )
        assert await podium(
            "review", "approve", f"rv-none-{tag}", "--reviewer", "bob", "--reason", "x"
        ) == (exits.BAD_INPUT)
        assert await podium("review", "approve", kept, "--reviewer", "bob", "--reason", "a\nb") == (
            exits.BAD_INPUT
        )
    # A finished order needs no worker to be refused.
    assert await podium("review", "reject", kept, "--reviewer", "bob", "--reason", "late") == (
        exits.ORDER_NOT_COMPLETED
    )
    printed = capsys.readouterr()

    assert f"order {kept}: approved by grace; it goes on to its charge" in decided
    assert f"order {refused_}: rejected by grace; it is being undone" in decided
    assert rejected.state == OrderState.FAILED
    assert rejected.failure is not None and rejected.failure.code == "review_rejected"
    errors = printed.err.splitlines()
    assert (
        f"podium: cannot reject order {kept}: it is already finished (`podium status {kept}` "
        "tells how it ended)"
    ) in errors
    assert any(line.startswith(f"podium: cannot approve order {small}: ") for line in errors), (
        errors
    )
    assert f"podium: no order rv-none-{tag}" in errors
    assert any(line.startswith("podium: invalid review decision: reason") for line in errors)
    assert "Traceback" not in printed.err and len(errors) == 4


def test_review_arguments_are_checked_before_any_server_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ["review", "list", "--limit", "0"],
        ["review", "approve", "bad id!", "--reviewer", "x", "--reason", "y"],
        ["review", "reject", "ord-1", "--reason", "y"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == exits.BAD_INPUT
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("podium: ") for line in lines)


HOSTILE_DECISIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "no input": ((), "takes 1 argument(s), got 0"),
    "two inputs": (("--input", "{}", "--input", "{}"), "takes 1 argument(s), got 2"),
    "not an object": (("--input", '"approve"'), "should be an object"),
    "missing reason": (("--input", '{"reviewer": "x"}'), "reason"),
    "extra field": (
        ("--input", json.dumps({"reviewer": "x", "reason": "y", "admin": True})),
        "admin",
    ),
    "huge reason": (("--input", json.dumps({"reviewer": "x", "reason": "y" * 100_000})), "reason"),
    "control characters": (
        ("--input", json.dumps({"reviewer": "x", "reason": "ok\u001b[2J"})),
        "reason",
    ),
    "reviewer with spaces": (
        ("--input", json.dumps({"reviewer": "a b", "reason": "y"})),
        "reviewer",
    ),
}


async def test_hostile_decisions_from_the_temporal_cli_are_refused_and_the_order_still_waits(
    settings: Settings, temporal: Client
) -> None:
    order = an_order(items=[{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "1500.00"}])
    async with running_worker(temporal, settings), asyncio.timeout(180):
        answer = await place_order(temporal, order, settings.task_queue)
        assert answer.state == OrderState.AWAITING_REVIEW
        for update in ("approve", "reject"):
            target = ("--workflow-id", order.workflow_id, "--name", update)
            for args, says in HOSTILE_DECISIONS.values():
                code, out = await temporal_cli(
                    settings, "workflow", "update", "execute", *target, *args
                )
                refused(code, out, says)
        status = await order_status(temporal, order.order_id)
        assert status.state == OrderState.AWAITING_REVIEW
        # A well-formed decision from the same CLI is taken.
        code, out = await temporal_cli(
            settings,
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            order.workflow_id,
            "--name",
            "reject",
            "--input",
            json.dumps({"reviewer": "ops", "reason": "from the CLI"}),
        )
        assert code == 0 and "rejected" in out, out
        result = await wait_for_outcome(temporal, order.order_id)
    assert result.failure is not None and result.failure.code == "review_rejected"
    await no_failed_workflow_task(temporal, order.order_id)
