"""Every log line of an activity names its order, workflow run, activity and attempt."""

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from workers.runtime.logging import order_id_of


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
        with structlog.contextvars.bound_contextvars(
            order_id=order_id_of(info.workflow_id or ""),
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            return await self.next.execute_activity(input)
