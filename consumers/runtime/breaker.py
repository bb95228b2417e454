"""A circuit breaker per consumer: an outage of its dependency pauses consumption.

Closed: messages flow; `threshold` consecutive failures that say "a dependency is unavailable"
open it, and so does one message that found it unavailable on every rung of its retry ladder
(a quiet queue during an outage must not dead-letter its few events). Open: the worker stops
consuming (messages wait, unharmed, in the queue) for a pause. Half-open: one message probes;
success closes the breaker, failure opens it again with twice the pause (up to `max_pause`).
Only "unavailable" failures count: a bug or a poison message says nothing about the
dependency, and it has its own way out (the retry ladder, the dead letters).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class BreakerOptions:
    threshold: int = 5
    pause: float = 5.0
    max_pause: float = 60.0


class State(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half-open"
    OPEN = "open"


GAUGE_VALUE = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}


class Breaker:
    def __init__(self, options: BreakerOptions, on_change: Callable[[State], None]) -> None:
        self.options = options
        self.state = State.CLOSED
        self.failures = 0  # consecutive "unavailable" failures
        self.pause = options.pause
        self.since = time.time()
        self._on_change = on_change

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def failed(self, conclusive: bool = False) -> bool:
        """Count a failure; True when the breaker is open afterwards (it may have just opened).
        A `conclusive` failure opens it whatever the count (a message that found its
        dependency unavailable on every retry is evidence enough of an outage)."""
        self.failures += 1
        if self.state is State.HALF_OPEN:
            self.pause = min(self.pause * 2, self.options.max_pause)
            self._move(State.OPEN)
        elif self.state is State.CLOSED and (conclusive or self.failures >= self.options.threshold):
            self._move(State.OPEN)
        return self.is_open

    def succeeded(self) -> None:
        self.failures = 0
        if self.state is State.HALF_OPEN:
            self.pause = self.options.pause
            self._move(State.CLOSED)

    def probing(self) -> None:
        if self.state is State.OPEN:
            self._move(State.HALF_OPEN)

    def _move(self, state: State) -> None:
        self.state = state
        self.since = time.time()
        self._on_change(state)
