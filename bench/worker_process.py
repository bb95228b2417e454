"""`python -m bench.worker_process [bare]`: the order worker (with `bare`, the bare
same-shape workflow's worker) alone in a process, so the bench can read its CPU time from /proc.
Settings come as JSON on stdin (secrets included, never on disk or in argv), the sandbox among
them (`workflow_sandbox`, as `podium worker` reads it); it prints "ready" once it polls and
stops on SIGTERM, as `podium worker` does.
"""

import asyncio
import json
import signal
import sys

from bench.baseline import BareShapeWorkflow
from bench.noop import noop
from workers.bootstrap import running_worker, temporal_worker
from workers.runtime.logging import configure_logging
from workers.runtime.metrics import temporal_runtime
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

READY = b"ready"


BARE = "bare"


async def serve(settings: Settings, bare: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    queue = settings.task_queue
    worker = (
        temporal_worker(client, settings, queue, [BareShapeWorkflow], [noop])
        if bare
        else running_worker(client, settings)
    )
    async with worker:
        sys.stdout.buffer.write(READY + b"\n")
        sys.stdout.flush()
        await stop.wait()


def main() -> int:
    args = sys.argv[1:]
    if args not in ([], [BARE]):
        print("usage: python -m bench.worker_process [bare]", file=sys.stderr)
        return 2
    settings = Settings(_env_file=None, **json.loads(sys.stdin.read()))
    configure_logging("WARNING", settings.log_format)
    asyncio.run(serve(settings, bare=args == [BARE]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
