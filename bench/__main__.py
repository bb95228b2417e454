"""`python -m bench [--quick] [--orders N] [--concurrency N] [--gap-ms MS] [--rate PER_S]`: as
`podium bench`."""

import argparse
import sys

from podium.cli.bench import add_arguments, run
from workers.runtime.logging import configure_logging
from workers.runtime.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
