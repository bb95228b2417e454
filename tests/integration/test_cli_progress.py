"""What a person waiting on an order sees, on the real dev server: live progress of a retried
charge, a bounded wait, and a status that tells the current step, attempt and last error."""

import asyncio
import json
import os
import pty
import time
import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from contracts.order import OrderState
from podium.cli import exits, main
from podium.cli import orders as commands
from podium.client import place_order, wait_for_outcome, wait_for_state
from tests.integration.test_operator_actions import temporal_cli
from tests.support.factories import an_order
from tests.support.running import PODIUM, cli_in_process, process_env, wait_for_pending
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def india_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local zone apart from UTC, and with a half-hour offset."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_place_shows_the_charge_retried_with_its_attempt_and_last_error(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    order = an_order(payment_token="tok_transient_4")  # the gateway fails four times
    async with running_worker(temporal, settings), asyncio.timeout(60):
        assert await commands.place(settings, order, wait="confirmed") == exits.OK
    printed = capsys.readouterr()
    assert printed.out.startswith(f"order {order.order_id}: confirmed")
    # stderr is no terminal here: a plain line per change (the worker's logs go there too).
    progress = [
        line for line in printed.err.splitlines() if line.startswith(f"order {order.order_id}: ")
    ]
    assert len(progress) == len(set(progress)), "a line per change, not per look"
    retried = [line for line in progress if "charge_payment · attempt" in line]
    assert retried, printed.err
    assert "last error: PaymentGatewayUnavailable: payment gateway unavailable" in retried[-1]
    assert "Traceback" not in printed.err


async def test_timeout_stops_waiting_and_the_order_carries_on(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    order = an_order()
    started = time.monotonic()
    # No worker yet: the answer cannot come.
    assert await commands.place(settings, order, wait="confirmed", timeout=1.5) == (
        exits.STILL_RUNNING
    )
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert f"stopped waiting after 1.5 s; order {order.order_id} carries on" in err
    assert f"`podium status {order.order_id}`" in err
    async with running_worker(temporal, settings):
        result = await wait_for_outcome(temporal, order.order_id, timeout=60)
    assert result.state == OrderState.COMPLETED


def test_timeout_is_validated(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-1", "nan", "inf", "86401", "soon"):
        with pytest.raises(SystemExit) as exited:
            main(["place", "--item", "MUG-BLUE:1:1.00", "--timeout", bad])
        assert exited.value.code == exits.BAD_INPUT
    assert capsys.readouterr().err.count("argument --timeout") == 6


async def test_status_shows_the_retried_charge_and_dated_times_in_both_zones(
    settings: Settings,
    temporal: Client,
    event_tap: object,
    india_time: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    order = an_order(payment_token="tok_transient_60")  # keeps failing for minutes
    async with running_worker(temporal, settings), asyncio.timeout(90):
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        await wait_for_pending(handle, "charge_payment", lambda p: p.attempt >= 3)
        assert await commands.status(settings, order.order_id) == exits.OK
        text = capsys.readouterr().out
        assert await commands.status(settings, order.order_id, as_json=True) == exits.OK
        document = capsys.readouterr().out
        assert await commands.cancel(settings, order.order_id) == exits.OK
        await wait_for_state(temporal, order.order_id, OrderState.CANCELLED)
    lines = text.splitlines()
    assert lines[0] == f"order {order.order_id}: RESERVED {order.total} EUR"
    now = lines[1]
    assert now.startswith("  now: charge_payment · attempt ")
    assert "last error: PaymentGatewayUnavailable: payment gateway unavailable" in now
    assert "steps (local time = UTC)" in text
    created = next(line for line in lines if "create_order" in line)
    local, utc = created.split(" = ")
    assert local.strip().endswith("IST") and " UTC  create_order" in utc
    assert local.split()[0].count("-") == 2  # dated

    status = json.loads(document)
    assert status["order_id"] == order.order_id and status["state"] == "RESERVED"
    assert status["run_status"] == "RUNNING"
    assert status["current"]["step"] == "charge_payment"
    assert status["current"]["attempt"] >= 3
    assert status["current"]["last_error"].startswith("PaymentGatewayUnavailable")
    assert status["total"] == str(order.total)  # money stays a decimal string
    assert [s["step"] for s in status["steps"]][:3] == [
        "create_order",
        "reserve_stock",
        "assess_risk",
    ]
    assert status["steps"][0]["at"].endswith("Z")
    assert status["ui_url"].endswith(f"/workflows/order-{order.order_id}")


async def test_place_json_is_one_document_with_the_answer(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmed, declined = an_order(), an_order(payment_token="tok_declined")
    async with running_worker(temporal, settings), asyncio.timeout(60):
        assert await commands.place(settings, confirmed, wait="confirmed", as_json=True) == 0
        assert await commands.place(settings, declined, wait="outcome", as_json=True) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["order_id"] == confirmed.order_id and first["confirmed"] is True
    assert first["total"] == str(confirmed.total) and first["failure"] is None
    assert second["state"] == "FAILED" and second["failure"]["code"] == "card_declined"
    assert {"ui_url", "currency"} <= first.keys() & second.keys()


async def test_status_json_keeps_its_keys_without_a_worker(
    settings: Settings, temporal: Client, event_tap: object, capsys: pytest.CaptureFixture[str]
) -> None:
    done, waiting = an_order(), an_order()
    async with running_worker(temporal, settings), asyncio.timeout(60):
        assert await commands.place(settings, done, wait="outcome") == exits.OK
        capsys.readouterr()
        assert await commands.status(settings, done.order_id, as_json=True) == exits.OK
        answered = json.loads(capsys.readouterr().out)
    idle = settings.model_copy(update={"task_queue": f"{settings.task_queue}-idle"})
    await place_order(temporal, waiting, idle.task_queue, wait="started")
    assert await commands.status(idle, done.order_id, as_json=True) == exits.OK
    assert await commands.status(idle, waiting.order_id, as_json=True) == exits.OK
    finished, running = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    await temporal.get_workflow_handle(f"order-{waiting.order_id}").terminate()

    assert set(answered) == set(finished) == set(running)
    assert answered["steps"] and answered["current"]["step"] is None
    assert finished["state"] == "COMPLETED" and finished["steps"] == []
    assert finished["total"] == str(done.total) and finished["run_status"] == "COMPLETED"
    assert running["state"] is None and running["run_status"] == "RUNNING"


async def test_on_a_terminal_place_rewrites_one_progress_line_then_answers_on_stdout(
    settings: Settings, temporal: Client, event_tap: object
) -> None:
    order_id = f"tty-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(process_env(settings), PODIUM_LOG_LEVEL="warning")
    master, terminal = pty.openpty()  # stderr is a terminal, stdout a pipe
    command = [str(PODIUM), "place", "--item", "MUG-BLUE:1:12.50", "--order-id", order_id]
    async with running_worker(temporal, settings), asyncio.timeout(90):
        read = asyncio.create_task(asyncio.to_thread(_read_all, master))
        process = await asyncio.create_subprocess_exec(
            *command,
            "--token",
            "tok_transient_4",
            env=env,
            cwd=settings.data_dir.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        out, _ = await process.communicate()
        shown = (await read).decode()
    assert process.returncode == exits.OK
    assert out.decode().startswith(f"order {order_id}: confirmed")
    assert "\n" not in shown.replace("\r\n", "\n").strip("\n"), "one line, rewritten in place"
    frames = [frame for frame in shown.split("\r\x1b[K") if frame]
    assert any("charge_payment · attempt" in frame for frame in frames), shown
    assert shown.endswith("\r\x1b[K")  # cleared before the answer


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except OSError:  # EIO: the terminal's last writer closed it
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)


async def test_timeout_from_the_command_line_exits_5_with_a_json_document(
    settings: Settings,
    temporal: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Nobody answers on that task queue.
    cli_in_process(settings, monkeypatch, PODIUM_TASK_QUEUE=f"{settings.task_queue}-idle")
    order_id = f"cli-timeout-{uuid.uuid4().hex[:8]}"
    argv = ["place", "--item", "MUG-BLUE:1:12.50", "--order-id", order_id, "--timeout", "1"]
    assert await asyncio.to_thread(main, [*argv, "--json"]) == exits.STILL_RUNNING
    printed = capsys.readouterr()
    await temporal.get_workflow_handle(f"order-{order_id}").terminate()
    document = json.loads(printed.out)
    assert document["order_id"] == order_id and document["timed_out"] is True
    assert document["ui_url"].endswith(f"/workflows/order-{order_id}")
    assert f"stopped waiting after 1 s; order {order_id} carries on" in printed.err
    assert "Traceback" not in printed.err


async def test_place_json_of_a_run_terminated_with_the_temporal_cli(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    order = an_order()
    assert await commands.place(settings, order, wait="started") == exits.OK  # no worker
    temporal_cli(settings, "workflow", "terminate", "--workflow-id", f"order-{order.order_id}")
    capsys.readouterr()
    assert await commands.place(settings, order, wait="confirmed", as_json=True) == (
        exits.ORDER_NOT_COMPLETED
    )
    document = json.loads(capsys.readouterr().out)
    assert document["order_id"] == order.order_id and document["run_status"] == "TERMINATED"
