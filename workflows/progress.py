"""The order's step records, as the status query shows them: bounded, and logged as they
happen."""

from collections.abc import Iterable

from temporalio import workflow

from workflows.policies import CARRIED_STEP_RECORDS, MAX_STEP_RECORDS

with workflow.unsafe.imports_passed_through():
    from contracts.order import StepOutcome, StepRecord


class Progress:
    def __init__(self, order_id: str, steps: Iterable[StepRecord] = ()) -> None:
        self._order_id = order_id
        self.steps = list(steps)

    def record(self, step: str, outcome: StepOutcome, detail: str | None = None) -> None:
        self.steps.append(StepRecord(step=step, outcome=outcome, at=workflow.now(), detail=detail))
        if len(self.steps) > MAX_STEP_RECORDS:
            # Only a stuck compensation's rounds grow the list: forget its oldest retries.
            retry = next(
                i for i, s in enumerate(self.steps) if s.outcome == "compensation retrying"
            )
            del self.steps[retry]
        workflow.logger.info(
            "order step %s %s",
            step,
            outcome,
            extra={"order_id": self._order_id, "step": step, "outcome": outcome},
        )

    def carried(self) -> list[StepRecord]:
        """The newest records, for a run continued as new."""
        return self.steps[-CARRIED_STEP_RECORDS:]
