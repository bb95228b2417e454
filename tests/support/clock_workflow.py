"""A workflow that reads the clock, in a module of its own: the sandbox imports the module a
workflow is defined in, and this one imports nothing it would refuse."""

from datetime import datetime

from temporalio import workflow


@workflow.defn
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # non-deterministic: what the sandbox is for
