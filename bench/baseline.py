"""The bare engine, for benchmarks: no-op activities in a given shape, in sequence.

A shape is a list of step kinds, `local` or `regular`: the bench derives the order's shape from
a real order's history (bench/shape.py), so the same-shape baseline follows the workflow, and
runs the all-regular one with as many activities.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.noop import noop

LOCAL, REGULAR = "local", "regular"


@workflow.defn
class BareShapeWorkflow:
    @workflow.run
    async def run(self, shape: list[str]) -> int:
        for step, kind in enumerate(shape):
            if kind == LOCAL:
                await workflow.execute_local_activity(
                    noop, step, start_to_close_timeout=timedelta(seconds=10)
                )
            else:
                await workflow.execute_activity(
                    noop, step, start_to_close_timeout=timedelta(seconds=10)
                )
        return len(shape)
