"""With encryption on, the Temporal server stores no personal data of an order; without, it does."""

import asyncio
import base64
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from aio_pika.abc import AbstractQueue
from pydantic import SecretStr
from temporalio.client import Client

from contracts.order import OrderRequest, OrderState
from podium.client import order_handle, place_order, workflow_id_for
from tests.security.keys import KEY_1
from tests.support.factories import an_order
from tests.support.servers import venv_binary
from workers.bootstrap import running_worker
from workers.codec_server import codec_server
from workers.runtime.codec import ENCODING
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration


def secrets_of(order: OrderRequest) -> list[bytes]:
    return [
        order.email.encode(),
        order.shipping_address.line1.encode(),
        order.shipping_address.postal_code.encode(),
        order.payment_token.encode(),
    ]


def show_history(settings: Settings, order_id: str, codec_endpoint: str) -> str:
    command = [
        venv_binary("temporal"),
        "workflow",
        "show",
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        "--workflow-id",
        workflow_id_for(order_id),
        "--output",
        "json",
        "--codec-endpoint",
        codec_endpoint,
        "--codec-auth",
        "Bearer ops-token",
    ]
    shown = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    return "\n".join(payload_texts(json.loads(shown)))


def payload_texts(node: Any) -> Iterator[str]:
    """The decoded `data` of every payload in a JSON history (protobuf JSON: base64)."""
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and isinstance(node.get("data"), str):
            yield base64.b64decode(node["data"]).decode(errors="replace")
        for value in node.values():
            yield from payload_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from payload_texts(value)


async def raw_history(plain_client: Client, order_id: str) -> bytes:
    """Every history event as the server stores it: fetched by a client without the codec."""
    history = await order_handle(plain_client, order_id).fetch_history()
    assert history.events
    return b"".join(event.SerializeToString() for event in history.events)


async def test_encrypted_order_completes_and_history_holds_no_personal_data(
    settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    encrypted = settings.model_copy(update={"encryption_keys": SecretStr(f"k1:{KEY_1}")})
    client = await connect_temporal(encrypted)
    order = an_order()
    async with running_worker(client, encrypted):
        result = await place_order(client, order, encrypted.task_queue, wait="outcome")

    assert result.state == OrderState.COMPLETED
    raw = await raw_history(temporal, order.order_id)
    found = [secret for secret in secrets_of(order) if secret in raw]
    assert found == []
    assert ENCODING in raw  # payloads are there, encrypted
    # The event still reached RabbitMQ: encryption is between Podium and Temporal only.
    assert await event_tap.get(timeout=5, fail=False) is not None

    # An operator with the key reads it through the codec server, here with the temporal CLI
    # (the Web UI calls the same endpoint).
    token = encrypted.model_copy(update={"codec_server_token": SecretStr("ops-token")})
    with codec_server(token, port=0) as server:
        shown = await asyncio.to_thread(show_history, encrypted, order.order_id, server.url)
    assert order.email in shown and order.payment_token in shown


async def test_without_encryption_the_history_holds_personal_data(
    settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    """The control: the check above can fail."""
    order = an_order()
    async with running_worker(temporal, settings):
        result = await place_order(temporal, order, settings.task_queue, wait="outcome")

    assert result.state == OrderState.COMPLETED
    raw = await raw_history(temporal, order.order_id)
    assert [secret for secret in secrets_of(order) if secret in raw] == secrets_of(order)
    assert ENCODING not in raw
