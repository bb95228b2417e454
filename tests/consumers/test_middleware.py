"""The consume loop's middlewares wrap the handling in their listed order, the first outermost."""

from typing import Any

from consumers.runtime.middleware import (
    MIDDLEWARES,
    Handling,
    Next,
    Outcome,
    log_context,
    log_outcome,
    measure,
    trace,
    wrap,
)


def test_the_span_is_outermost_then_the_log_context_the_outcome_line_then_the_timing() -> None:
    assert (trace, log_context, log_outcome, measure) == MIDDLEWARES


async def test_each_middleware_wraps_the_next_and_sees_the_outcome_the_handling_decided() -> None:
    seen: list[str] = []

    def named(name: str) -> Any:
        async def middleware(handling: Handling, call_next: Next) -> None:
            seen.append(f"{name} in")
            await call_next(handling)
            seen.append(f"{name} out: {handling.outcome}")

        return middleware

    async def handle(handling: Handling) -> None:
        seen.append("handle")
        handling.decided(Outcome.PROCESSED)

    await wrap([named("a"), named("b")], handle)(Handling("c", message=None))  # type: ignore[arg-type]

    assert seen == ["a in", "b in", "handle", "b out: processed", "a out: processed"]
