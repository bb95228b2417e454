"""The bare engine, for benchmarks: no-op activities in a given shape.

A shape is a list of groups run one after the other; the activities of a group, `local` or
`regular`, run in parallel. The bench derives the order's shape from a real order's history
(bench/shape.py), so the same-shape baseline follows the order workflow as it is, and runs the
all-regular one with as many activities, one per group.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.noop import noop

LOCAL, REGULAR = "local", "regular"


@workflow.defn
class BareShapeWorkflow:
    @workflow.run
    async def run(self, shape: list[list[str]]) -> int:
        step = 0
        for group in shape:
            runs: list[Any] = []
            for kind in group:
                if kind == LOCAL:
                    runs.append(
                        workflow.execute_local_activity(
                            noop, step, start_to_close_timeout=timedelta(seconds=10)
                        )
                    )
                else:
                    runs.append(
                        workflow.execute_activity(
                            noop, step, start_to_close_timeout=timedelta(seconds=10)
                        )
                    )
                step += 1
            await asyncio.gather(*runs)
        return step
