"""`podium` processes to kill, in-process workers with faulty activities and consumers, and
what Temporal tells about a workflow's activities."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from contracts.order import OrderResult
from tests.support.invariants import ConsumerStores, side_effects_settled
from tests.support.waits import eventually
from workers.bootstrap import (
    declare_consumer_topology,
    running_consumers,
    running_worker,
)
from workers.runtime.settings import Settings

PODIUM = Path(sys.executable).parent / "podium"


# Real processes ----------------------------------------------------------------------------


@dataclass
class Process:
    """A `podium` subprocess whose log goes to a file (a pipe nobody reads would fill up)."""

    command: str
    settings: Settings
    log: Path
    extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(process_env(self.settings))
        env.update(self.extra)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            # cwd: away from the repository's .podium/stack.env and .env.
            self.proc = subprocess.Popen(
                [str(PODIUM), self.command],
                env=env,
                cwd=self.log.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, in-flight work is lost mid-way."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def process_env(settings: Settings) -> dict[str, str]:
    """The PODIUM_* variables that make a `podium` process use this test's stack and data."""
    s = settings
    database = {}
    if s.database_url is not None:
        database = {
            "PODIUM_DATABASE_URL": s.database_url.get_secret_value(),
            "PODIUM_DATABASE_SCHEMA_PREFIX": s.database_schema_prefix,
        }
    return database | {
        "PODIUM_TEMPORAL_ADDRESS": s.temporal_address,
        "PODIUM_TEMPORAL_NAMESPACE": s.temporal_namespace,
        "PODIUM_AMQP_URL": s.amqp_url,
        "PODIUM_TASK_QUEUE": s.task_queue,
        "PODIUM_DATA_DIR": str(s.data_dir),
        "PODIUM_EXCHANGE": s.exchange,
        "PODIUM_PUBLISH_TIMEOUT_SECONDS": str(s.publish_timeout_seconds),
        "PODIUM_CONSUMER_QUEUE_PREFIX": s.consumer_queue_prefix,
        "PODIUM_CONSUMER_RETRY_DELAYS_MS": json.dumps(s.consumer_retry_delays_ms),
        "PODIUM_CONSUMER_RECONNECT_INTERVAL_SECONDS": str(s.consumer_reconnect_interval_seconds),
        "PODIUM_CONSUMER_SHUTDOWN_TIMEOUT_SECONDS": str(s.consumer_shutdown_timeout_seconds),
        "PODIUM_SMTP_PORT": str(s.smtp_port),
        "PODIUM_MAIL_DIR": str(s.mail_dir),
        "PODIUM_TRACE_FILE": str(s.trace_file),
        "PODIUM_METRICS_PORT": "0",
        "PODIUM_CONSUMER_METRICS_PORT": "0",
        "PODIUM_LOG_FORMAT": "json",
    }


def cli_in_process(settings: Settings, monkeypatch: "pytest.MonkeyPatch", **extra: str) -> None:
    """Make `podium` commands run in this process (`podium.cli.main`) use this test's stack
    (every PODIUM_* variable a process would get), leaving the test's logging and tracing."""
    for name, value in {**process_env(settings), **extra}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("workers.runtime.logging.configure_logging", lambda *a, **k: None)
    monkeypatch.setattr("workers.runtime.tracing.configure_tracing", lambda *a, **k: None)


def worker_process(settings: Settings, log: Path, **extra: str) -> Process:
    return Process("worker", settings, log, extra).start()


def consumers_process(settings: Settings, log: Path, **extra: str) -> Process:
    return Process("consumers", settings, log, extra).start()


# In-process workers and consumers ----------------------------------------------------------


@asynccontextmanager
async def fault_worker(
    client: Client,
    settings: Settings,
    *replacements: Callable[..., Any],
    publisher: Any = None,
) -> AsyncIterator[Worker]:
    """A worker on real services and the real broker; `replacements` stand in for the
    activities of the same name, `publisher` for the event publisher."""
    async with running_worker(
        client,
        settings,
        publisher=publisher,
        replacements=replacements,
    ) as worker:
        yield worker


@asynccontextmanager
async def consumers(settings: Settings) -> AsyncIterator[None]:
    """The three registered consumers in this event loop, their queues declared first."""
    await declare_consumer_topology(settings)
    async with running_consumers(settings):
        yield


async def wait_settled(
    results: list[OrderResult], stores: ConsumerStores, within: float = 30.0
) -> None:
    """Until every consumer reacted to every order (then the invariants say how often)."""
    await eventually(
        lambda: asyncio.to_thread(side_effects_settled, results, stores),
        bool,
        within,
        interval=0.1,
        what="every consumer to react to every order",
    )


# Looking into Temporal and RabbitMQ --------------------------------------------------------


async def pending_activity(handle: WorkflowHandle[Any, Any], name: str) -> PendingActivityInfo:
    """The workflow's pending activity `name`, or AssertionError when there is none."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == name:
            return pending
    raise AssertionError(f"no pending {name} activity")


async def wait_for_pending(
    handle: WorkflowHandle[Any, Any],
    name: str,
    check: Callable[[PendingActivityInfo], bool],
    within: float = 30.0,
) -> PendingActivityInfo:
    async def fetch() -> PendingActivityInfo | None:
        try:
            return await pending_activity(handle, name)
        except AssertionError:
            return None

    found = await eventually(
        fetch, lambda p: p is not None and check(p), within, what=f"pending {name}"
    )
    assert found is not None
    return found


def started(pending: PendingActivityInfo) -> bool:
    return pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED


@dataclass(frozen=True)
class ActivityRuns:
    scheduled: int  # times the workflow asked for the activity
    completed_attempts: list[int]  # the attempt number of each completion that counted


async def activity_runs(handle: WorkflowHandle[Any, Any], name: str) -> ActivityRuns:
    """From the workflow's history: how often `name` was scheduled, which attempt completed."""
    history = await handle.fetch_history()
    scheduled: dict[int, str] = {}
    attempts: dict[int, int] = {}
    completed: list[int] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attrs.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            start = event.activity_task_started_event_attributes
            attempts[start.scheduled_event_id] = start.attempt
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            if scheduled[done.scheduled_event_id] == name:
                completed.append(attempts[done.scheduled_event_id])
    return ActivityRuns(sum(1 for n in scheduled.values() if n == name), completed)


async def local_activity_attempts(handle: WorkflowHandle[Any, Any], name: str) -> list[int]:
    """From the workflow's history: the attempt each recorded result of local `name` took.

    A local activity leaves no scheduled event, only a marker with its result, written in the
    workflow task that completed after it ran."""
    history = await handle.fetch_history()
    attempts = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        details = event.marker_recorded_event_attributes.details.get("data")
        if details is None or not details.payloads:
            continue
        data = json.loads(details.payloads[0].data)
        if data.get("activity_type") == name:
            attempts.append(int(data["attempt"]))
    return attempts
