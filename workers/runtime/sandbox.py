"""How the worker runs workflow code: `PODIUM_WORKFLOW_SANDBOX`.

- `strict` (the default, and what every test and the replayer use): the SDK's sandbox imports
  the workflow modules afresh for each run and refuses non-deterministic calls
  (`datetime.now`, `random`, I/O) made from workflow code.
- `passthrough`: the sandbox with every module passed through, imported once per process; the
  workflow code is no longer checked for such calls, `open` and the like still are.
- `off`: no sandbox; the cheapest per workflow task.

Replay's own check (the commands a run makes against its recorded history) holds in all three.
`podium bench` measures the worker's CPU per order with each.
"""

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner(sandbox: str) -> WorkflowRunner:
    if sandbox == "off":
        return UnsandboxedWorkflowRunner()
    if sandbox == "passthrough":
        restrictions = SandboxRestrictions.default.with_passthrough_all_modules()
        return SandboxedWorkflowRunner(restrictions=restrictions)
    if sandbox == "strict":
        return SandboxedWorkflowRunner()
    raise ValueError(f"unknown workflow sandbox {sandbox!r}: strict, passthrough or off")
