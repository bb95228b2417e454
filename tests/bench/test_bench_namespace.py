"""The bench's namespace on a server that lacks it: created with the orders' search
attributes, and asking again is harmless."""

import uuid

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.namespace import ensure_namespace
from podium.cli import exits, main
from workers.runtime.settings import Settings
from workflows.visibility import ORDER_STATUS, SEARCH_ATTRIBUTES


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
    # Usable at once: the server takes a run that carries the orders' attributes.
    handle = await client.start_workflow(
        "NoSuchWorkflow",
        id="bench-probe",
        task_queue="bench-probe",
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORDER_STATUS, "PROBE")]),
    )
    await handle.terminate()


def test_a_namespace_the_server_refuses_is_one_line_and_exit_3(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PODIUM_TEMPORAL_ADDRESS", settings.temporal_address)
    monkeypatch.setenv("PODIUM_AMQP_URL", settings.amqp_url)
    monkeypatch.setenv("PODIUM_BENCH_NAMESPACE", "")  # a name the server refuses
    monkeypatch.setattr("workers.runtime.logging.configure_logging", lambda *a, **k: None)

    assert main(["bench", "--quick"]) == exits.UNAVAILABLE

    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert line.startswith("podium: cannot create the bench's Temporal namespace")
    assert "temporal operator namespace create --namespace" in line
