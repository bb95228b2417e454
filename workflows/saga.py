"""A compensation stack for sagas, with an explicit pivot.

Push a compensation once a step has (or may have) taken effect; on failure, unwind in reverse
order, retrying each compensation until it succeeds. Once the pivot is passed the saga only
goes forward: nothing is left to undo.

The helper knows nothing of Temporal: the workflow hands in how to pause between rounds
(`workflow.sleep`) and which errors are worth another round (activity failures).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Compensation:
    """How to undo one step: a name for the record and the coroutine that undoes it."""

    name: str
    run: Callable[[], Awaitable[object]]


class PastPivotError(RuntimeError):
    """Raised when asked to undo a saga that has passed its point of no return."""


def _ignore(name: str, round_: int, error: BaseException) -> None:
    return None


@dataclass
class Saga:
    pause: Callable[[int], Awaitable[None]]
    """Waits before retry round n (1, 2, ...) of a failed compensation."""
    retry_on: tuple[type[BaseException], ...]
    on_retry: Callable[[str, int, BaseException], None] = _ignore
    pivot_passed: bool = False
    rounds: int = 0
    """Failed rounds of the compensation now being retried (a continued run carries it)."""
    _stack: list[Compensation] = field(default_factory=list)

    def on_failure(self, compensation: Compensation) -> None:
        """Remember how to undo the step just taken."""
        if self.pivot_passed:
            raise PastPivotError(f"{compensation.name}: the saga passed its pivot")
        self._stack.append(compensation)

    def pending(self) -> list[str]:
        """The compensations still to run, oldest first (they run newest first)."""
        return [compensation.name for compensation in self._stack]

    def include_first(self, compensations: list[Compensation]) -> None:
        """Make sure the first steps' compensations are pending, in their order, below the
        ones pushed since: those already pending are kept, the missing ones added."""
        pending = {c.name: c for c in self._stack}
        first = [pending.get(c.name, c) for c in compensations]
        names = {c.name for c in first}
        self._stack[:] = [*first, *(c for c in self._stack if c.name not in names)]

    def pass_pivot(self) -> None:
        """From here on the saga only goes forward."""
        self.pivot_passed = True
        self._stack.clear()

    async def compensate(self) -> list[str]:
        """Run the compensations newest first, each until it succeeds; return their names."""
        if self.pivot_passed:
            raise PastPivotError("the saga passed its pivot; nothing can be compensated")
        done: list[str] = []
        while self._stack:
            # Popped only once done: a run that stops meanwhile still lists it as pending.
            compensation = self._stack[-1]
            await self._until_done(compensation)
            self._stack.pop()
            done.append(compensation.name)
        return done

    async def _until_done(self, compensation: Compensation) -> None:
        while True:
            try:
                await compensation.run()
                self.rounds = 0
                return
            except self.retry_on as error:
                self.rounds += 1
                self.on_retry(compensation.name, self.rounds, error)
                await self.pause(self.rounds)
