"""Every log line of an activity names its order, workflow run, activity and attempt."""

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from contracts.order import order_id_from_workflow_id


class ActivityLogContext(Interceptor):
    """Binds structlog context variables from `activity.info()` for the length of each attempt.

    Sync activities get them too: the SDK runs them in the thread pool inside a copy of the
    calling context.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityInfo(next)


class _BindActivityInfo(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        context: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity": info.activity_type,
            "attempt": info.attempt,
        }
        if (order_id := order_id_from_workflow_id(info.workflow_id or "")) is not None:
            context["order_id"] = order_id
        with structlog.contextvars.bound_contextvars(**context):
            return await self.next.execute_activity(input)
