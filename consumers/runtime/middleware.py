"""Tracing, log context, the outcome's log line and metrics around each message's handling, as
one ordered list.

The loop folds `MIDDLEWARES` around its handling of a message, the first outermost: the span
covers everything, the log context is bound inside it, the one line per event is logged within
that context, and the handling time is measured innermost. The handling says what it decided
in `Handling.outcome` before it makes that durable (a confirmed copy, a commit) and sets
`durable` after; a middleware reads both when the handling returns or raises.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import structlog
from aio_pika.abc import AbstractIncomingMessage

from consumers.runtime import metrics, tracing
from consumers.runtime.headers import original_routing_key

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    RETRIED = "retried"
    PARKED = "parked"
    DEAD_LETTERED = "dead-lettered"


@dataclass
class Handling:
    consumer: str
    message: AbstractIncomingMessage
    outcome: Outcome | None = None
    detail: str = ""  # the error a retry is for, or the reason for dead-lettering
    durable: bool = False

    def decided(self, outcome: Outcome, detail: str = "") -> None:
        self.outcome, self.detail = outcome, detail


Next = Callable[[Handling], Awaitable[None]]
Middleware = Callable[[Handling, Next], Awaitable[None]]


async def trace(handling: Handling, call_next: Next) -> None:
    with tracing.consuming(handling.consumer, handling.message):
        try:
            await call_next(handling)
        finally:  # before `consuming` marks a raised handling unacked
            if handling.outcome is Outcome.RETRIED:
                tracing.retried(handling.detail)
            elif handling.outcome is Outcome.PARKED:
                tracing.parked()
            elif handling.outcome is Outcome.DEAD_LETTERED:
                tracing.dead_lettered(handling.detail)


async def log_context(handling: Handling, call_next: Next) -> None:
    # Context variables reach the handler's thread too: it runs in a copy of this context.
    message = handling.message
    context = {"consumer": handling.consumer, "event_id": message.message_id}
    if message.correlation_id:
        context["order_id"] = message.correlation_id  # set by the publisher
    with structlog.contextvars.bound_contextvars(**context):
        await call_next(handling)


# What a person reads in the line each event ends with.
LOGGED_OUTCOME = {
    Outcome.PROCESSED: "done",
    Outcome.DUPLICATE: "duplicate",
    Outcome.RETRIED: "retry scheduled",
    Outcome.PARKED: "parked (breaker open)",
    Outcome.DEAD_LETTERED: "dead-lettered",
}


async def log_outcome(handling: Handling, call_next: Next) -> None:
    """One INFO line per event once its outcome is durable: event type, outcome, ms (the log
    context adds consumer, event and order ids). An event whose ack or copy failed is logged
    by the loop instead, and comes back."""
    if not _stdlib_log.isEnabledFor(logging.INFO):  # the line's cost is its rendering: skip it
        await call_next(handling)
        return
    started = time.perf_counter()
    await call_next(handling)
    if handling.outcome is None or not handling.durable:
        return
    fields: dict[str, object] = {
        "event_type": original_routing_key(handling.message),
        "outcome": LOGGED_OUTCOME[handling.outcome],
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if handling.detail:
        fields["detail"] = handling.detail
    log.info("event handled", **fields)


_COUNTERS = {
    Outcome.PROCESSED: metrics.PROCESSED,
    Outcome.DUPLICATE: metrics.DUPLICATES,
    Outcome.RETRIED: metrics.RETRIED,
    Outcome.PARKED: metrics.PARKED,
    Outcome.DEAD_LETTERED: metrics.DEAD_LETTERED,
}


async def measure(handling: Handling, call_next: Next) -> None:
    try:
        with metrics.timed(handling.consumer):
            await call_next(handling)
    finally:  # counted once durable, even should the ack after it fail
        if handling.durable and handling.outcome is not None:
            metrics.child(_COUNTERS[handling.outcome], handling.consumer).inc()


MIDDLEWARES: tuple[Middleware, ...] = (trace, log_context, log_outcome, measure)


def wrap(middlewares: Sequence[Middleware], handle: Next) -> Next:
    """`handle` inside `middlewares`, the first outermost."""
    for middleware in reversed(middlewares):
        handle = _around(middleware, handle)
    return handle


def _around(middleware: Middleware, call_next: Next) -> Next:
    async def run(handling: Handling) -> None:
        await middleware(handling, call_next)

    return run
