"""`make soak`: python -m tests.faults.soak [--orders N] [--rate R] [--kills K] [--seed S].

Exit codes: 0 the invariants hold, 1 an invariant is violated."""

import argparse
import asyncio
import sys

from tests.faults.soak.run import SoakPlan, soak


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="orders placed per second")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--consumer-processes", type=int, default=2)
    args = parser.parse_args()
    plan = SoakPlan(
        orders=max(1, min(args.orders, 100_000)),
        rate=max(0.1, min(args.rate, 200.0)),
        kills=max(0, min(args.kills, 1_000)),
        seed=args.seed,
        workers=max(1, min(args.workers, 8)),
        consumer_processes=max(1, min(args.consumer_processes, 8)),
        settle_seconds=600.0,
    )
    verdict = asyncio.run(soak(plan))
    return 0 if verdict.holds else 1


if __name__ == "__main__":
    sys.exit(main())
