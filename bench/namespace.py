"""The benchmark's own Temporal namespace, so its thousands of runs never sit among real orders.

`podium dev up` creates it at start. A server started before the bench had a namespace of its
own lacks it: the bench registers it (with the search attributes its orders set) rather than
asking for a restart, because on the dev server that is immediate and harmless, and restarting
the stack would only do the same. A server that refuses (a cluster where this user may not
create namespaces) gets one line saying what to create.
"""

import asyncio
import time

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.problems import one_line
from workers.runtime.temporal import Unavailable
from workflows.visibility import SEARCH_ATTRIBUTES

# Bench runs are worth a look for a day, then the server drops them.
RETENTION_SECONDS = 24 * 3600
# The server refreshes its namespace cache every few seconds (10 s at most by default).
NEW_NAMESPACE_PATIENCE = 20.0


class NamespaceMissing(Unavailable):
    """The bench's namespace is absent and could not be created; the message says what to do."""


async def ensure_namespace(client: Client) -> None:
    """Make `client.namespace` exist with the orders' search attributes; harmless if it does."""
    namespace = client.namespace
    try:
        if not await _exists(client):
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=namespace,
                    description="podium bench runs",
                    workflow_execution_retention_period=Duration(seconds=RETENTION_SECONDS),
                )
            )
        # Also for a namespace made by hand without them: the orders upsert these.
        await _add_search_attributes(client)
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return
        raise NamespaceMissing(
            f"cannot create the bench's Temporal namespace {namespace!r} "
            f"({one_line(err.message, 200)}); restart the local stack (`podium dev down && "
            "podium dev up`) or create it: temporal operator namespace create --namespace "
            f"{namespace}"
        ) from None


async def _exists(client: Client) -> bool:
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _add_search_attributes(client: Client) -> None:
    """Retried while the server's namespace cache has not seen a new namespace yet."""
    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={
            key.name: IndexedValueType.ValueType(key.indexed_value_type)
            for key in SEARCH_ATTRIBUTES
        },
    )
    deadline = time.monotonic() + NEW_NAMESPACE_PATIENCE
    while True:
        try:
            await client.operator_service.add_search_attributes(request)
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
