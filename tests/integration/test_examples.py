"""examples/place_orders.py, run as a user would, against the real stack and a worker."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).parents[2] / "examples" / "place_orders.py"


async def test_the_example_places_its_orders_and_prints_each_outcome(
    settings: Settings, temporal: Client, event_tap: object
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_TEMPORAL_ADDRESS=settings.temporal_address,
        PODIUM_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        PODIUM_TASK_QUEUE=settings.task_queue,
    )
    async with running_worker(temporal, settings):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(EXAMPLE)],
            env=env,
            cwd=settings.data_dir.parent,  # no .env of the repository
            capture_output=True,
            text=True,
            timeout=120,
        )
    # Known Temporal SDK bug (sdk-python #300): a client-only process can abort while the
    # interpreter shuts down, after all its work is done. Only that exact abort is let through;
    # the output below still has to be complete and right.
    exit_abort = done.returncode == -6 and "PyGILState_Release" in done.stderr
    assert done.returncode == 0 or exit_abort, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert "as written: confirmed 34.99 EUR" in lines[0]
    assert "declined card: not confirmed 34.99 EUR (card_declined)" in lines[1]
    assert "gateway hiccup: confirmed 34.99 EUR" in lines[2]
