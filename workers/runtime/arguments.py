"""Workflows started with too few or too many arguments fail at once, like invalid ones.

The SDK hands a workflow's decoded arguments to its `@workflow.init` constructor before any
interceptor runs; a wrong count (a `temporal workflow start` without `--input`, or with two)
raises TypeError there, which fails the workflow *task*: retried forever, the run never ends.
This runner looks at the count first and, when it is wrong, swaps the arguments for markers
that the payload converter (workers/runtime/payloads.py) refuses as a non-retryable
`InvalidInput`: the SDK then fails the run itself, through its usual failure path.
"""

import inspect
from collections.abc import Callable, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workers.runtime.payloads import WRONG_ARGUMENTS


class ArgumentCountingRunner(WorkflowRunner):
    """Wraps a runner (the sandbox by default); only the workflow's start is looked at."""

    def __init__(self, inner: WorkflowRunner | None = None) -> None:
        self._inner = inner or SandboxedWorkflowRunner()

    def prepare_workflow(self, defn: object) -> None:
        self._inner.prepare_workflow(defn)  # type: ignore[arg-type]

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = self._inner.create_instance(det)
        expected = det.defn.arg_types
        if not det.defn.name or expected is None:  # dynamic or untyped: any count goes
            return instance
        return _Counted(instance, det.defn.name, len(expected), _required(det.defn.run_fn))


class _Counted(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, name: str, expected: int, required: int) -> None:
        self._inner = inner
        self._name = name
        self._expected = expected
        self._required = required

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        for job in act.jobs:
            if job.HasField("initialize_workflow"):
                arguments = job.initialize_workflow.arguments
                given = len(arguments)
                if self._expected > 0 and not self._required <= given <= self._expected:
                    takes = (
                        str(self._expected)
                        if self._required == self._expected
                        else f"{self._required} to {self._expected}"
                    )
                    reason = f"invalid input: {self._name} takes {takes} argument(s), got {given}"
                    marker = Payload(metadata={"encoding": WRONG_ARGUMENTS}, data=reason.encode())
                    del arguments[:]
                    arguments.extend([marker] * self._expected)
        return self._inner.activate(act)

    def get_serialization_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_external_store_context(command_info)

    def get_info(self):  # type: ignore[no-untyped-def]
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


def _required(run_fn: Callable[..., object]) -> int:
    """Parameters of the run method (self aside) that have no default."""
    parameters = list(inspect.signature(run_fn).parameters.values())[1:]
    return sum(1 for p in parameters if p.default is inspect.Parameter.empty)
