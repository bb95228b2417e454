"""`podium consumers --status`: depths from the broker, breakers of this host's processes."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from consumers.runtime import state_file
from podium.cli import exits
from workers.bootstrap import declare_consumer_topology
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def _podium(
    settings: Settings, *args: str, amqp_url: str | None = None
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "PODIUM_AMQP_URL": amqp_url or settings.amqp_url,
        "PODIUM_EXCHANGE": settings.exchange,
        "PODIUM_CONSUMER_QUEUE_PREFIX": settings.consumer_queue_prefix,
        "PODIUM_DATA_DIR": str(settings.data_dir),
        "PODIUM_CONSUMER_RETRY_DELAYS_MS": json.dumps(settings.consumer_retry_delays_ms),
        "PODIUM_TRACE_FILE": str(settings.data_dir / "spans.jsonl"),
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("podium")),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_status_lists_depths_and_breakers_of_processes_on_this_host(
    settings: Settings,
) -> None:
    await declare_consumer_topology(settings)
    state_file.write(
        settings.data_dir,
        state_file.Report("loyalty", os.getpid(), "open", 5, 0.0, state_file.now()),
    )
    state_file.write(
        settings.data_dir,
        state_file.Report("analytics", 2**22 + 12345, "closed", 0, 0.0, state_file.now()),
    )
    code, out, _ = await _podium(settings, "consumers", "--status")
    assert code == exits.OK, out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == {"notifications", "analytics", "loyalty"}
    assert lines["loyalty"].split()[1:4] == ["0", "0", "0"]
    assert f"open since 00:00:00Z (pid {os.getpid()})" in lines["loyalty"]
    assert "not running here; 1 stale report" in lines["analytics"]
    assert "not running here" in lines["notifications"]


async def test_status_says_in_one_line_when_the_broker_is_unreachable(
    settings: Settings,
) -> None:
    code, out, err = await _podium(
        settings, "consumers", "--status", amqp_url="amqp://podium:x@127.0.0.1:1/podium"
    )
    assert code == exits.UNAVAILABLE
    assert err.startswith("podium: cannot reach RabbitMQ at 127.0.0.1") and err.count("\n") == 1, (
        err
    )
    assert "Traceback" not in err + out


async def test_status_of_an_unknown_consumer_is_bad_input(settings: Settings) -> None:
    code, _, err = await _podium(settings, "consumers", "--status", "nope")
    assert code == exits.BAD_INPUT and "known: notifications" in err
