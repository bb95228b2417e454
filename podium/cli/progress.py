"""Where an order is now, for a person waiting on it or asking after it.

Two sources, asked together: the status query (the order's state and step records, which needs
a worker) and the run's description from the server (its pending activities, with their attempt
and last failure, which needs none). Only regular activities are pending activities: the charge,
the compensations and the publish. Create, reserve, the fraud screen and confirm run as local
activities inside the workflow task, so the server knows nothing of their attempts; for them
the current step comes from the step records alone.
"""

import asyncio
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from contracts.problems import one_line

if TYPE_CHECKING:
    from temporalio.client import Client

    from contracts.order import OrderStatus

# The saga's steps in order (workflows/order.py); the first one not succeeded is the current one.
FORWARD_STEPS = (
    "create_order",
    "reserve_stock",
    "assess_risk",
    "charge_payment",
    "confirm_order",
    "publish_event",
)
POLL_SECONDS = 0.5  # two looks a second: live enough for a person, light on the worker
RPC_SECONDS = 5.0  # each question to the server is bounded; a slow answer is skipped
MAX_ERROR = 300
MAX_PENDING = 10  # an order runs one regular activity at a time; a run of another kind may not


@dataclass(frozen=True)
class Pending:
    """A regular activity the server holds for the run: its type, attempt and last error."""

    activity: str
    attempt: int
    last_error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Current:
    """The step in progress and, when it is being retried, its attempt and last error."""

    step: str | None
    attempt: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "attempt": self.attempt,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass(frozen=True)
class Look:
    run_status: str  # RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, ...
    pending: list[Pending]
    status: "OrderStatus | None"  # None: no worker answered the query

    @property
    def current(self) -> Current:
        return current(self.status, self.pending, running=self.run_status == "RUNNING")


def current(status: "OrderStatus | None", pending: list[Pending], *, running: bool) -> Current:
    """The step in progress, from the step records and the pending activities."""
    if not running or (status is not None and status.state.is_final):
        return Current(step=None)
    step = _step(status) if status is not None else None
    retried = next((p for p in pending if p.activity == step), None)
    if retried is None and pending:  # e.g. a compensation or the publish
        retried = pending[0]
        step = retried.activity
    if retried is None:
        stuck = status.needs_operator if status is not None else None
        if stuck is not None:
            return Current(stuck.compensation, attempt=stuck.rounds, last_error=stuck.last_error)
        return Current(step=step)
    return Current(
        step=step,
        attempt=retried.attempt,
        last_error=retried.last_error,
        next_attempt_at=retried.next_attempt_at,
    )


def _step(status: "OrderStatus") -> str | None:
    state = str(status.state)
    if state == "COMPENSATING":
        return "undoing"
    if state == "AWAITING_REVIEW":
        return "manual review"
    done = {record.step for record in status.steps if record.outcome == "succeeded"}
    return next((step for step in FORWARD_STEPS if step not in done), None)


async def look(client: "Client", order_id: str, *, query: bool = True) -> Look:
    """The run's status and pending activities, and (with `query`) the order's status.

    Raises RPCError NOT_FOUND for an unknown order."""
    from podium.client import order_handle

    handle = order_handle(client, order_id)
    description = await handle.describe(rpc_timeout=timedelta(seconds=RPC_SECONDS))
    run_status = description.status.name if description.status else "UNKNOWN"
    pending = [
        await _pending(client, info)
        for info in description.raw_description.pending_activities[:MAX_PENDING]
    ]
    status = await _queried(client, order_id) if query else None
    return Look(run_status=run_status, pending=pending, status=status)


async def _queried(client: "Client", order_id: str) -> "OrderStatus | None":
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from podium.client import order_handle
    from workflows.order import OrderWorkflow

    try:
        return await order_handle(client, order_id).query(
            OrderWorkflow.status, rpc_timeout=timedelta(seconds=RPC_SECONDS)
        )
    except (WorkflowQueryFailedError, RPCError):  # no worker, or a run that holds no state
        return None


async def _pending(client: "Client", info: Any) -> Pending:
    last_error = None
    if info.HasField("last_failure"):
        last_error = await _error_text(client, info.last_failure)
    next_at = None
    if info.HasField("next_attempt_schedule_time"):
        next_at = info.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
    return Pending(
        activity=info.activity_type.name,
        attempt=info.attempt,
        last_error=last_error,
        next_attempt_at=next_at,
    )


async def _error_text(client: "Client", failure: Any) -> str:
    from temporalio.exceptions import ApplicationError

    # Decoded through the client's converter: with payload encryption, the failure's text is
    # only readable after the codec.
    try:
        error = await client.data_converter.decode_failure(failure)
    except Exception:
        return one_line(failure.message, MAX_ERROR)
    if isinstance(error, ApplicationError) and error.type:
        return one_line(f"{error.type}: {error.message}", MAX_ERROR)
    return one_line(f"{type(error).__name__}: {error}", MAX_ERROR)


def describe_current(now: Current) -> str:
    """The step, and its attempt and last error when it is being retried ("" for none)."""
    parts = [now.step] if now.step else []
    if now.attempt and (now.attempt > 1 or now.last_error):
        parts.append(f"attempt {now.attempt}")
    if now.last_error:
        parts.append(f"last error: {now.last_error}")
    if now.next_attempt_at:
        parts.append(f"next attempt at {now.next_attempt_at.astimezone():%H:%M:%S}")
    return " · ".join(parts)


class ProgressLine:
    """Progress on stderr: one line rewritten in place on a terminal, else a line per change."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty()
        self._last = ""

    def show(self, text: str) -> None:
        if text == self._last:
            return
        self._last = text
        if self._live:
            width = max(20, shutil.get_terminal_size().columns - 1)
            self._stream.write(f"\r\033[K{text[:width]}")
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()

    def clear(self) -> None:
        """Make room for the answer (and any warning) on a line of their own."""
        if self._live and self._last:
            self._stream.write("\r\033[K")
            self._stream.flush()
        self._last = ""


async def follow(client: "Client", order_id: str, show: Callable[[str], None]) -> None:
    """Show where the order is, each time it changes, until cancelled."""
    from temporalio.service import RPCError

    while True:
        try:
            seen = await look(client, order_id)
        except (RPCError, TimeoutError):  # not started yet, or a slow answer: look again
            pass
        else:
            state = str(seen.status.state) if seen.status is not None else "state unknown"
            where = describe_current(seen.current)
            show(f"order {order_id}: {state} · {where}" if where else f"order {order_id}: {state}")
        # A cancel landing inside an RPC can come out of the SDK as an RPCError (CANCELLED),
        # which the lines above take for a slow answer: a cancelled follower stops all the same.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        await asyncio.sleep(POLL_SECONDS)
