"""`podium bench`: the benchmarks, side by side (docs/benchmarks.md)."""

import argparse
import asyncio

from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "bench", help="measure the saga against the bare engine (needs the stack)"
    )
    cmd.add_argument("--quick", action="store_true", help="a short run with fewer samples")
    cmd.add_argument("--orders", type=int, default=None, help="workflows per variant (time-capped)")
    cmd.add_argument("--concurrency", type=int, default=None, help="workflows in flight (16)")
    cmd.set_defaults(command=_bench)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.run import run_bench

    return asyncio.run(
        run_bench(settings, args.orders, concurrency=args.concurrency, quick=args.quick)
    )
