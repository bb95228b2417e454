"""The bench's namespace on a server that lacks it: created with the orders' search
attributes, and asking again is harmless."""

import uuid

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from bench.namespace import ensure_namespace
from workers.runtime.settings import Settings
from workflows.visibility import SEARCH_ATTRIBUTES


async def test_a_missing_namespace_is_created_with_the_search_attributes(
    settings: Settings,
) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    client = await Client.connect(settings.temporal_address, namespace=namespace)

    await ensure_namespace(client)
    await ensure_namespace(client)

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)
    assert [w async for w in client.list_workflows()] == []
