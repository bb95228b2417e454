"""`podium`: the command line. Each command reads the settings once and passes them down.

One module per command group registers its subcommands; heavy imports (the Temporal SDK,
aio-pika) wait inside the commands, so `podium --help` answers at once.
"""

import argparse
import os
import sys
from collections.abc import Sequence

from podium.cli import (
    bench,
    catalogue,
    consumers,
    dead_letters,
    demo,
    dev,
    orders,
    reconcile,
    review,
    serve,
    trace,
)
from podium.cli.exits import BAD_INPUT, OK, fail
from podium.cli.parsing import Parser
from workers.runtime.settings import Settings

GROUPS = (
    orders,
    review,
    catalogue,
    consumers,
    dead_letters,
    serve,
    reconcile,
    trace,
    dev,
    demo,
    bench,
)


def main(argv: Sequence[str] | None = None) -> int:
    # Files Podium and the servers it starts create (databases, logs, spans, the Temporal
    # database) hold customer data or secrets: private to this user from the first byte.
    os.umask(0o077)
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return BAD_INPUT
    settings: Settings | None = None
    try:
        from workers.runtime.logging import configure_logging
        from workers.runtime.tracing import configure_tracing

        settings = Settings()
        configure_logging(
            settings.log_level, settings.log_format, file=args.log_file, off_loop=args.log_off_loop
        )
        if args.traced:
            configure_tracing(settings, args.traced)
        return int(args.command(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `podium ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except Exception as err:
        from podium.cli.failures import explain
        from workers.runtime.logging import flush_logging

        flush_logging()  # the lines logged before the failure come before its one line
        return fail(*explain(err, settings.amqp_url if settings else None))
    finally:
        from workers.runtime.logging import flush_logging

        flush_logging()
        if args.traced and settings is not None:
            from workers.runtime.tracing import flush_tracing

            flush_tracing()


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="podium", description=__doc__.split("\n")[0])
    # Commands that take part in an order's trace name their service; the others trace nothing.
    # Long-running ones log off the event loop (workers/runtime/logging.py).
    parser.set_defaults(traced=None, log_file=None, log_off_loop=False)
    commands = parser.add_subparsers(metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser
