"""A workflow's shape, read from its history: which activities ran, local or regular, in what
order, and in how many workflow tasks.

The same-shape baseline runs the shape of a real order placed at the start of the run, so it
follows the order workflow as it is; tests/bench compares both histories on the dev server.
"""

from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.baseline import LOCAL, REGULAR
from bench.environment import order_request
from contracts.order import OrderRequest
from podium.client import place_order

# The marker the SDK records for each local activity (patches record "core_patch" markers).
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class Shape:
    steps: tuple[str, ...]  # LOCAL or REGULAR, in the order the workflow ran them
    workflow_tasks: int  # completed workflow tasks

    def count(self, kind: str) -> int:
        return self.steps.count(kind)

    def describe(self) -> str:
        return f"{self.count(LOCAL)} local + {self.count(REGULAR)} regular"

    def sequential(self) -> list[list[str]]:
        """The bare workflow's input: one activity after the other, as the order runs them."""
        return [[kind] for kind in self.steps]

    def all_regular(self) -> list[list[str]]:
        return [[REGULAR] for _ in self.steps]

    def screen_beside_reservation(self) -> list[list[str]] | None:
        """The order's second and third steps (reserve stock, fraud screen: the screen does
        not need the reservation) in parallel, when both are local; None otherwise."""
        if self.steps[1:3] != (LOCAL, LOCAL):
            return None
        return [[self.steps[0]], [LOCAL, LOCAL], *([k] for k in self.steps[3:])]


def shape_of(history: WorkflowHistory) -> Shape:
    steps: list[str] = []
    tasks = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(REGULAR)
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            steps.append(LOCAL)
    return Shape(tuple(steps), tasks)


async def shape_of_run(client: Client, workflow_id: str) -> Shape:
    """The shape of a finished run."""
    return shape_of(await client.get_workflow_handle(workflow_id).fetch_history())


async def order_shape(client: Client, task_queue: str, tag: str) -> Shape:
    """Place one order on `task_queue` and read its shape from its history."""
    request = OrderRequest.model_validate(order_request(f"bench-{tag}-shape"))
    await place_order(client, request, task_queue, wait="outcome")
    return await shape_of_run(client, request.workflow_id)
