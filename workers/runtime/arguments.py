"""Workflows started with too few or too many arguments fail at once, like invalid ones.

The SDK hands a workflow's decoded arguments to its `@workflow.init` constructor before any
interceptor runs; a wrong count (a `temporal workflow start` without `--input`, or with two)
raises TypeError there, which fails the workflow *task*: retried forever, the run never ends.
This runner looks at the count first and, when it is wrong, swaps the arguments for markers
that the payload converter (workers/runtime/payloads.py) refuses as a non-retryable
`InvalidInput`: the SDK then fails the run itself, through its usual failure path.

An update that takes arguments and is sent the wrong count (`temporal workflow update execute`
without `--input`) gets the same markers: the SDK refuses the update, and the run carries on.
"""

import inspect
from collections.abc import Callable, MutableSequence, Sequence
from dataclasses import dataclass

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
        updates = {
            name: _Count(len(update.arg_types), _required(update.fn))
            for name, update in det.defn.updates.items()
            if name and update.arg_types
        }
        run = _Count(len(expected), _required(det.defn.run_fn))
        return _Counted(instance, det.defn.name, run, updates)


@dataclass(frozen=True)
class _Count:
    expected: int
    required: int

    def check(self, name: str, arguments: MutableSequence[Payload]) -> None:
        """Swap a wrong count of arguments for markers the payload converter refuses."""
        given = len(arguments)
        if self.expected == 0 or self.required <= given <= self.expected:
            return
        takes = (
            str(self.expected)
            if self.required == self.expected
            else f"{self.required} to {self.expected}"
        )
        reason = f"invalid input: {name} takes {takes} argument(s), got {given}"
        marker = Payload(metadata={"encoding": WRONG_ARGUMENTS}, data=reason.encode())
        del arguments[:]
        arguments.extend([marker] * self.expected)


class _Counted(WorkflowInstance):
    def __init__(
        self, inner: WorkflowInstance, name: str, run: _Count, updates: dict[str, _Count]
    ) -> None:
        self._inner = inner
        self._name = name
        self._run = run
        self._updates = updates

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        for job in act.jobs:
            if job.HasField("initialize_workflow"):
                self._run.check(self._name, job.initialize_workflow.arguments)
            elif job.HasField("do_update") and job.do_update.name in self._updates:
                update = self._updates[job.do_update.name]
                update.check(f"update {job.do_update.name}", job.do_update.input)
        return self._inner.activate(act)

    def get_serialization_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_external_store_context(command_info)

    def get_info(self):  # type: ignore[no-untyped-def]
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


def _required(method: Callable[..., object]) -> int:
    """Parameters of a workflow's method (self aside) that have no default."""
    parameters = list(inspect.signature(method).parameters.values())[1:]
    return sum(1 for p in parameters if p.default is inspect.Parameter.empty)
