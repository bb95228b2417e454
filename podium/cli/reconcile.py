"""`podium reconcile`: give back what orders whose workflow ended without an outcome hold."""

import argparse
import asyncio

from podium.cli import exits
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "reconcile", help="undo orders whose workflow was terminated, timed out or lost"
    )
    cmd.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    cmd.set_defaults(command=_reconcile)


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from workers.reconcile import reconcile

    unpublished = asyncio.run(reconcile(settings, dry_run=args.dry_run))
    # An event that could not be published is found again by the next run.
    return exits.UNAVAILABLE if unpublished else exits.OK
