"""Temporal's OpenTelemetry interceptor, minus the queries.

The stock `TracingInterceptor` opens a `QueryWorkflow` span for every query a client sends, and
the worker answers with a `HandleQuery` span under it. `podium status` and the progress of
`podium place` poll the status query, so each poll became a trace of its own about the order,
and since a workflow's spans carry the time of its last workflow task, the worker's half could
start minutes before the client's: a long trace of nothing. A query reads state and changes
nothing, so it is left untraced: without the client's span no trace header travels, and the
worker's interceptor creates no span for a query without one.
"""

from typing import Any

from temporalio.client import OutboundInterceptor, QueryWorkflowInput
from temporalio.contrib.opentelemetry import TracingInterceptor


class TracingWithoutQueries(TracingInterceptor):
    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _UntracedQueries(super().intercept_client(next), untraced=next)


class _UntracedQueries(OutboundInterceptor):
    """Every call goes through the tracing interceptor except queries, which skip it."""

    def __init__(self, traced: OutboundInterceptor, untraced: OutboundInterceptor) -> None:
        super().__init__(traced)
        self._untraced = untraced

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        return await self._untraced.query_workflow(input)
