"""`python -m bench.worker_process RUNNER [bare]`: the order worker (with `bare`, the bare
same-shape workflow's worker) alone in a process, so the bench can read its CPU time from /proc.
Settings come as JSON on stdin (secrets included, never on disk or in argv); it prints "ready"
once it polls and stops on SIGTERM, as `podium worker` does.

RUNNER: `sandboxed` (production's), `passthrough` (the sandbox with every module passed through
instead of imported again for each run) or `unsandboxed` (no sandbox at all).
"""

import asyncio
import json
import signal
import sys
from collections.abc import Callable

from temporalio.worker import WorkflowRunner

from bench.baseline import BareShapeWorkflow
from bench.noop import noop
from workers.bootstrap import running_worker, temporal_worker
from workers.runtime.logging import configure_logging
from workers.runtime.metrics import temporal_runtime
from workers.runtime.sandbox import workflow_runner
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

RUNNERS: dict[str, Callable[[], WorkflowRunner | None]] = {
    "sandboxed": lambda: workflow_runner("strict"),
    "passthrough": lambda: workflow_runner("passthrough"),
    "unsandboxed": lambda: workflow_runner("off"),
}
READY = b"ready"


BARE = "bare"


async def serve(settings: Settings, runner: WorkflowRunner | None, bare: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    queue = settings.task_queue
    worker = (
        temporal_worker(client, settings, queue, [BareShapeWorkflow], [noop], runner=runner)
        if bare
        else running_worker(client, settings, runner=runner)
    )
    async with worker:
        sys.stdout.buffer.write(READY + b"\n")
        sys.stdout.flush()
        await stop.wait()


def main() -> int:
    args = sys.argv[1:]
    if not 1 <= len(args) <= 2 or args[0] not in RUNNERS or args[1:] not in ([], [BARE]):
        print(
            f"usage: python -m bench.worker_process {{{','.join(RUNNERS)}}} [bare]", file=sys.stderr
        )
        return 2
    settings = Settings(_env_file=None, **json.loads(sys.stdin.read()))
    configure_logging("WARNING", settings.log_format)
    asyncio.run(serve(settings, RUNNERS[args[0]](), bare=args[1:] == [BARE]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
