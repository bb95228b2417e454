"""Timeouts and retry policies of the saga's activities, in one place."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

# Refusals by a service (ApplicationError types raised by activities/failures.py).
# Retrying them cannot change the answer.
BUSINESS_ERRORS = [
    "OutOfStock",
    "UnknownSku",
    "PaymentDeclined",
    "ChargeVoided",
    "FraudSuspected",
    "InvalidAmount",
    "OrderConflict",
    "IdempotencyConflict",
]


@dataclass(frozen=True)
class StepPolicy:
    start_to_close: timedelta
    retry: RetryPolicy
    schedule_to_close: timedelta | None = None
    local_retry_threshold: timedelta | None = None
    """Set for a step run as a local activity: retries waiting longer than this wait on a
    workflow timer instead of inside the workflow task."""

    @property
    def local(self) -> bool:
        return self.local_retry_threshold is not None


def _backoff(
    maximum_interval: timedelta, *, attempts: int = 0, give_up_on: list[str] | None = None
) -> RetryPolicy:
    """From 200 ms, doubling up to `maximum_interval`; `attempts` 0 is no limit."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=maximum_interval,
        maximum_attempts=attempts,
        non_retryable_error_types=give_up_on,
    )


# Before the pivot: transient faults are retried with backoff for a while, then the order
# is given up and compensated.
FORWARD = StepPolicy(
    start_to_close=timedelta(seconds=10),
    schedule_to_close=timedelta(minutes=5),
    retry=_backoff(timedelta(seconds=30), give_up_on=BUSINESS_ERRORS),
)

# Past the pivot there is no way back: confirm and publish are retried until they succeed,
# so a broker outage delays the event instead of losing it.
ONWARD = StepPolicy(
    start_to_close=timedelta(seconds=30),
    retry=_backoff(timedelta(seconds=30), give_up_on=BUSINESS_ERRORS),
)

# The short, idempotent database steps (create, reserve, fraud screen, confirm) run as local
# activities: the worker runs them inside the workflow task, with no activity task round trip
# through the server (about 5 ms each instead of 30). Their retries run inside the workflow
# task only while the wait is at most LOCAL_RETRY_THRESHOLD (200, 400, 800 ms); longer waits
# go through a workflow timer, so a long database outage releases the workflow task between
# attempts (a cancel is heard, the worker is not held) and shows up in history. The worker
# measures a local activity's schedule-to-close on its own clock, so the give-up is also
# bounded by attempts: 17 attempts back off about 5 minutes, like FORWARD.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)

FORWARD_LOCAL = StepPolicy(
    # One SQLite transaction, bounded like FORWARD's attempts.
    start_to_close=timedelta(seconds=10),
    schedule_to_close=timedelta(minutes=5),
    retry=_backoff(timedelta(seconds=30), attempts=17, give_up_on=BUSINESS_ERRORS),
    local_retry_threshold=LOCAL_RETRY_THRESHOLD,
)

# Confirm, the pivot, as a local activity: retried until it succeeds, like ONWARD.
ONWARD_LOCAL = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=_backoff(timedelta(seconds=30), give_up_on=BUSINESS_ERRORS),
    local_retry_threshold=LOCAL_RETRY_THRESHOLD,
)

# One round of a compensation; the saga runs rounds until one succeeds, recording each
# failed round in the order's status so a stuck compensation is visible, never silent.
COMPENSATION = StepPolicy(
    start_to_close=timedelta(seconds=10),
    retry=_backoff(timedelta(seconds=10), attempts=5),
)


def compensation_pause(round_: int) -> timedelta:
    """Wait between compensation rounds: 10 s, 20 s, 40 s ... capped at 5 minutes."""
    return min(timedelta(seconds=10 * 2 ** min(round_ - 1, 5)), timedelta(minutes=5))


# A compensation failing for days keeps retrying without growing one run's history without
# bound: after this many failed rounds in one run the saga continues as new, carrying what is
# left to undo (about ten history events per round).
ROUNDS_PER_RUN = 20

# After this many failed rounds of one compensation the order is flagged for an operator:
# status query, OrderStatus search attribute, current details and a metric.
NEEDS_OPERATOR_AFTER_ROUNDS = 3

# The status query's step records stay bounded however long a compensation keeps failing;
# a continued run starts with the newest of them.
MAX_STEP_RECORDS = 60
CARRIED_STEP_RECORDS = 30
