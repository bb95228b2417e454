"""`podium worker` and `podium codec-server`: the long-running servers."""

import argparse
import asyncio

from podium.cli import exits
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser("worker", help="run a Temporal worker for the order workflow")
    cmd.set_defaults(command=_worker, traced="podium-worker", log_off_loop=True)

    cmd = commands.add_parser(
        "codec-server", help="decrypt payloads for the Temporal UI (needs the keys)"
    )
    cmd.add_argument("--port", type=int, default=None, help="default: PODIUM_CODEC_SERVER_PORT")
    cmd.add_argument("--host", default=None, help="default: 127.0.0.1")
    cmd.set_defaults(command=_codec_server)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.temporal_worker import serve

    asyncio.run(serve(settings))
    return exits.OK


def _codec_server(args: argparse.Namespace, settings: Settings) -> int:
    from workers.codec_server import serve

    serve(settings, port=args.port, host=args.host)
    return exits.OK
