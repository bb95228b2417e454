"""`python -m bench.worker_process [bare|loyalty]`: the order worker (with `bare`, the bare
same-shape workflow's worker; with `loyalty`, the loyalty consumer instead) alone in a process,
so the bench can read its CPU time from /proc or run several side by side (bench/scale.py).
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
from consumers import loyalty
from workers.bootstrap import running_consumers, running_worker, temporal_worker
from workers.runtime.logging import configure_logging
from workers.runtime.metrics import temporal_runtime
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

READY = b"ready"


BARE = "bare"
LOYALTY = "loyalty"


async def serve(settings: Settings, bare: bool) -> None:
    stop = _stopping()
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


async def consume(settings: Settings) -> None:
    """Ready at once, consuming only from SIGUSR1 on: the bench starts every consumer process
    before any of them takes an event, so none drains the queue while the others start."""
    stop = _stopping()
    go = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, go.set)
    sys.stdout.buffer.write(READY + b"\n")
    sys.stdout.flush()
    waiting = [asyncio.create_task(go.wait()), asyncio.create_task(stop.wait())]
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    for task in waiting:
        task.cancel()
    if stop.is_set():
        return
    async with running_consumers(settings, [loyalty.NAME]):
        await stop.wait()


def _stopping() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> int:
    args = sys.argv[1:]
    if args not in ([], [BARE], [LOYALTY]):
        print("usage: python -m bench.worker_process [bare|loyalty]", file=sys.stderr)
        return 2
    settings = Settings(_env_file=None, **json.loads(sys.stdin.read()))
    configure_logging("WARNING", settings.log_format)
    if args == [LOYALTY]:
        asyncio.run(consume(settings))
    else:
        asyncio.run(serve(settings, bare=args == [BARE]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
