"""`podium bench`: the benchmarks, side by side (docs/benchmarks.md)."""

import argparse
import asyncio
from collections.abc import Callable

from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "bench", help="measure the saga against the bare engine (needs the stack)"
    )
    add_arguments(cmd)
    cmd.set_defaults(command=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags, shared with `python -m bench`."""
    parser.add_argument("--quick", action="store_true", help="a short run with fewer samples")
    parser.add_argument(
        "--orders",
        type=_within(1, 100_000, int),
        default=None,
        help="workflows per variant in flight (1500, quick 200)",
    )
    parser.add_argument(
        "--concurrency", type=_within(1, 1000, int), default=None, help="workflows in flight (16)"
    )
    parser.add_argument(
        "--gap-ms",
        type=_within(0, 5000),
        default=None,
        help="rest before each workflow at concurrency 1 (200)",
    )
    parser.add_argument(
        "--rate",
        type=_within(0.1, 1000),
        default=None,
        help="open-loop orders per second (half the saturated rate measured in the run)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only orders/s with 1, 2, 3 worker processes and events/s with 1, 2 consumer "
        "processes, on SQLite and PostgreSQL (uses --concurrency and --scale-seconds)",
    )
    parser.add_argument(
        "--log-cost",
        action="store_true",
        help="only what a consumer's INFO line costs, written in place and handed off to the "
        "writer thread (needs no stack)",
    )
    parser.add_argument(
        "--scale-seconds",
        type=_within(1, 600),
        default=None,
        help="seconds of load per worker count with --scale (20)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.log_cost:
        return _log_cost(settings, args.quick)
    if args.scale:
        from bench.scale import scale_plan
        from bench.scale_run import run_scale

        plan = scale_plan(args.scale_seconds, args.concurrency)
        return asyncio.run(run_scale(settings, plan))
    from bench.run import run_bench

    return asyncio.run(
        run_bench(
            settings,
            args.orders,
            concurrency=args.concurrency,
            quick=args.quick,
            gap_ms=args.gap_ms,
            rate=args.rate,
        )
    )


def _log_cost(settings: Settings, quick: bool) -> int:
    import os

    from bench.log_cost import measure_log_cost
    from workers.runtime.logging import configure_logging

    before = os.getloadavg()
    cost = measure_log_cost(lines=1000 if quick else 5000, rounds=3 if quick else 7)
    configure_logging(settings.log_level, settings.log_format)  # as before the measurement
    after = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average {before[0]:.2f} before, {after[0]:.2f} after")
    print("\n".join(cost.table()))
    return 0


def _within(low: float, high: float, number: type = float) -> Callable[[str], float]:
    """An argparse type: `number` (float, or int for a whole number) from `low` to `high`."""
    kind = "whole number" if number is int else "number"

    def parse(text: str) -> float:
        try:
            value = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind}: {text[:40]!r}") from None
        if not low <= value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"from {low:g} to {high:g}, got {value:g}")
        return value

    return parse
