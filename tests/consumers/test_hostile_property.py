"""Property: whatever bodies and headers arrive, every message ends acked (its effect applied)
or dead-lettered with a reason (after retries, where they apply), and the good events among
them are not delayed. Part of each batch goes through RabbitMQ's management HTTP API."""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.runtime import headers as h
from consumers.runtime.definition import Consumer
from consumers.runtime.dlq import list_dead_letters
from contracts.events import OrderCompletedV1
from infra.stack import LocalStack
from tests.consumers.test_hostile import LoopLag
from tests.support.consumers import completed, effects_consumer, publish_via_management
from workers.bootstrap import running_consumers, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HUGE = [
    b"[" * 300_000,  # nested past any recursion limit
    b'{"a":' * 150_000,
    b'"' + b"a" * 900_000 + b'"',  # one long string, no @
    b"@" * 900_000,
    b"\xff\xfe" * 400_000,  # not UTF-8
    b"a" * 1_500_000,  # over the size limit
]


@dataclass(frozen=True)
class Hostile:
    body: bytes
    message_id: str
    headers: dict[str, Any]
    via_management: bool
    good: bool = False


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A body and the message_id it travels with (the event's own id where there is one)."""
    event = completed(customer_id=draw(st.sampled_from(["cust-1", "cust-bug"])))
    data: dict[str, Any] = event.model_dump(mode="json")
    kind = draw(st.sampled_from(["bytes", "huge", "mutated", "forged", "event", "huge-field"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)), uuid.uuid4().hex
    if kind == "huge":
        return draw(st.sampled_from(HUGE)), uuid.uuid4().hex
    if kind == "mutated":
        path = draw(st.sampled_from([["type"], ["version"], ["event_id"], ["order", "items"]]))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = draw(json_values)
    elif kind == "huge-field":
        data["order"]["email"] = "x" * 700_000  # a legal-size body with one absurd field
    elif kind == "forged":
        return json.dumps(data).encode(), uuid.uuid4().hex
    event_id = data.get("event_id")
    message_id = event_id if isinstance(event_id, str) and 0 < len(event_id) < 200 else None
    return json.dumps(data).encode(), message_id or uuid.uuid4().hex


@st.composite
def hostile(draw: st.DrawFn) -> Hostile:
    body, message_id = draw(bodies())
    headers: dict[str, Any] = {}
    if draw(st.booleans()):
        headers[h.ATTEMPT] = draw(
            st.integers(-(2**63), 2**63 - 1) | st.text(max_size=25) | st.booleans()
        )
    if draw(st.booleans()):
        headers[h.ROUTING_KEY] = draw(st.text(max_size=300))
    if draw(st.booleans()):
        headers[h.REPLAYED] = draw(st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5))
    if draw(st.booleans()):
        headers["traceparent"] = draw(st.text(max_size=100) | st.just("0" * 10_000))
    return Hostile(body, message_id, headers, draw(st.booleans()))


def _consumer() -> Consumer:
    base = effects_consumer("prop")

    def handle(event: Any, tx: Any) -> None:
        if event.order.customer_id == "cust-bug":
            raise ValueError("a bug in the handler")
        base.handle(event, tx)

    return Consumer("prop", base.events, handle, base.schema)


async def _publish(settings: Settings, stack: LocalStack, messages: list[Hostile]) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.exchange)
        for m in messages:
            if m.via_management:
                properties = {"message_id": m.message_id, "headers": m.headers}
                await publish_via_management(
                    stack, settings, m.body, OrderCompletedV1.ROUTING_KEY, properties
                )
            else:
                message = aio_pika.Message(m.body, message_id=m.message_id, headers=m.headers)
                await exchange.publish(message, routing_key=OrderCompletedV1.ROUTING_KEY)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(batch=st.lists(hostile(), min_size=4, max_size=10))
async def test_every_hostile_message_ends_acked_or_dead_lettered_and_good_ones_flow(
    settings: Settings, stack: LocalStack, batch: list[Hostile]
) -> None:
    uid = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "exchange": f"prop-{uid}",
            "consumer_queue_prefix": f"p{uid}",
            "data_dir": settings.data_dir / uid,
        }
    )
    consumer = _consumer()
    good = [completed() for _ in range(3)]
    good_messages = [
        Hostile(json.dumps(e.model_dump(mode="json")).encode(), e.event_id, {}, False, True)
        for e in good
    ]
    async with running_consumers(settings, consumers=[consumer]) as runner, LoopLag() as lag:
        store = runner.loops["prop"].store
        await _publish(settings, stack, batch)
        sent = time.monotonic()
        await _publish(settings, stack, good_messages)

        def processed() -> set[str]:
            return set(
                store.read(
                    lambda c: [r[0] for r in c.execute("SELECT event_id FROM processed_events")]
                )
            )

        while not {e.event_id for e in good} <= processed():
            assert time.monotonic() - sent < 3, "good events were delayed"
            await asyncio.sleep(0.05)
        options = runtime_options(settings)
        deadline = time.monotonic() + 20
        while True:
            dead = {d.message_id: d.reason for d in await list_dead_letters(options, "prop")}
            done = processed()
            pending = [m for m in batch if m.message_id not in done and m.message_id not in dead]
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    assert not pending, [(m.message_id, m.body[:80], m.headers) for m in pending]
    assert all(reason and reason != "unknown" for reason in dead.values()), dead
    assert lag.worst < 0.3, lag.worst
