"""`python -m bench [--quick] [--orders N] [--concurrency N]`: as `podium bench`."""

import argparse
import asyncio
import sys

from bench.run import run_bench
from workers.runtime.logging import configure_logging
from workers.runtime.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~30 s run with fewer samples")
    parser.add_argument("--orders", type=int, help="workflows per variant at --concurrency")
    parser.add_argument("--concurrency", type=int, help="workflows in flight (default 16)")
    args = parser.parse_args()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(
        run_bench(settings, args.orders, concurrency=args.concurrency, quick=args.quick)
    )


if __name__ == "__main__":
    sys.exit(main())
