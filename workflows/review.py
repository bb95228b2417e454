"""Manual review of a risky order, raced with a timer.

The fraud screen's recorded verdict says whether an order needs a person and for how long it
may wait: the workflow never reads a setting, so a replay takes the same path. The order then
waits before its charge for an `approve` or `reject` update, a cancel, or the end of the
window, whichever comes first.
"""

from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.order import Failure, PendingReview
    from contracts.review import ReviewDecision
    from contracts.steps import RiskAssessment

# Orders started before manual review never wait for one (docs/evolving-the-workflow.md).
MANUAL_REVIEW_PATCH = "manual-review"
# A verdict recorded without a window (none is, today) still gets a bounded wait.
FALLBACK_WINDOW = timedelta(hours=24)

Ending = Literal["approved", "rejected", "timed out"]


class Review:
    """One order's review: open while it waits, then closed with how it ended."""

    def __init__(self) -> None:
        self.pending: PendingReview | None = None
        self.decision: ReviewDecision | None = None
        self.ended: Ending | Literal["cancelled"] | None = None
        self._approved = False

    def needed(self, verdict: RiskAssessment) -> bool:
        # The patch is asked only for a verdict that holds the order, which no order started
        # before it can have recorded: other orders' histories stay as they were.
        return verdict.decision == "review" and workflow.patched(MANUAL_REVIEW_PATCH)

    def open(self, verdict: RiskAssessment) -> timedelta:
        window = verdict.review_window or FALLBACK_WINDOW
        reason = verdict.reason or "flagged by the fraud screen"
        self.pending = PendingReview(reason=reason, deadline=workflow.now() + window)
        return window

    async def wait(self, window: timedelta, cancel_requested: Callable[[], bool]) -> Ending | None:
        """Until a decision, a customer's cancel (None) or the window's end. A Temporal cancel
        raises asyncio.CancelledError, as anywhere else in the run."""
        # A decision accepted in the same activation as the timer's end still counts: its
        # reviewer was told it was taken.
        with suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.decision is not None or cancel_requested(),
                timeout=window,
                timeout_summary="review window",
            )
        self.pending = None
        if cancel_requested():
            self.ended = "cancelled"
            return None
        if self.decision is None:
            self.ended = "timed out"
        else:
            self.ended = "approved" if self._approved else "rejected"
        return self.ended

    def decide(self, approved: bool, decision: ReviewDecision) -> None:
        self.decision = decision
        self._approved = approved

    def refuse_unless_open(self, order_id: str, cancel_requested: bool) -> None:
        """The updates' validator: a decision is taken only while the order waits for it."""
        if self.decision is not None:
            verb = "approved" if self._approved else "rejected"
            raise ValueError(
                f"order {order_id} was already {verb} by {self.decision.reviewer}; "
                "a review is decided once"
            )
        if self.ended is not None:
            raise ValueError(f"order {order_id} is no longer awaiting review ({self.ended})")
        if self.pending is None:
            raise ValueError(f"order {order_id} is not awaiting review")
        if cancel_requested:
            raise ValueError(f"order {order_id} is being cancelled")

    def failure(self, window: timedelta) -> Failure:
        """Why a review that did not approve stops the order."""
        if self.ended == "timed out":
            return Failure(
                code="review_timeout",
                message=f"no review decision within {_hours(window)}; rejected automatically",
            )
        assert self.decision is not None
        return Failure(
            code="review_rejected",
            message=f"rejected in review by {self.decision.reviewer}: {self.decision.reason}",
        )

    def detail(self) -> str:
        """The step record of the decision: who, and why."""
        if self.decision is None:
            return "no decision in time"
        return f"by {self.decision.reviewer}: {self.decision.reason}"


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{window.total_seconds():g} s"
