"""One trace per order, across Temporal and RabbitMQ, on the real dev server and broker."""

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from activities.publisher import EventPublisher
from consumers.runtime.definition import Consumer
from consumers.runtime.outcomes import DeadLetter, RetryLater
from contracts.events import OrderCompletedV1
from contracts.order import OrderRequest, OrderState, workflow_id_for
from podium.client import order_status, place_order
from tests.support.consumers import completed
from tests.support.factories import an_order
from workers.bootstrap import declare_consumer_topology, running_consumers, running_worker
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration

FORWARD = ["create_order", "reserve_stock", "charge_payment", "confirm_order", "publish_event"]


async def finished_when(
    spans: InMemorySpanExporter,
    done: Callable[[Sequence[ReadableSpan]], bool],
    within: float = 15.0,
) -> Sequence[ReadableSpan]:
    deadline = time.monotonic() + within
    while not done(finished := spans.get_finished_spans()):
        if time.monotonic() > deadline:
            names = sorted(s.name for s in finished)
            raise AssertionError(f"spans not there after {within}s; have {names}")
        await asyncio.sleep(0.05)
    return finished


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = named(spans, name)
    assert len(found) == 1, f"{len(found)} spans named {name}"
    return found[0]


def attr(span: ReadableSpan, key: str) -> Any:
    return (span.attributes or {}).get(key)


def order_trace(spans: Sequence[ReadableSpan], order: OrderRequest) -> list[ReadableSpan]:
    """The spans of the order's single trace, checked to form one tree under `order.place`."""
    related = [
        s
        for s in spans
        if attr(s, "podium.order_id") == order.order_id
        or attr(s, "temporalWorkflowID") == workflow_id_for(order.order_id)
    ]
    trace_ids = {s.context.trace_id for s in related}
    assert len(trace_ids) == 1, f"order spans are in {len(trace_ids)} traces"
    ours = [s for s in spans if s.context.trace_id in trace_ids]
    root = one(ours, "order.place")
    assert root.parent is None
    assert attr(root, "podium.order_id") == order.order_id
    assert attr(root, "podium.customer_id") == order.customer_id
    by_id = {s.context.span_id: s for s in ours}
    for span in ours:
        hop = span
        while hop.parent is not None:
            assert hop.parent.span_id in by_id, f"{hop.name}'s parent is not in the trace"
            hop = by_id[hop.parent.span_id]
        assert hop is root, f"{span.name} does not descend from order.place"
        for value in (span.attributes or {}).values():
            assert order.email not in str(value)
            assert order.payment_token not in str(value)
    return ours


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None
    [parent] = [s for s in spans if s.context.span_id == span.parent.span_id]
    return parent


async def test_completed_order_is_one_trace_from_client_to_every_consumer(
    traced_settings: Settings, spans: InMemorySpanExporter
) -> None:
    settings = traced_settings
    client = await connect_temporal(settings)
    order = an_order()
    await declare_consumer_topology(settings)
    async with running_consumers(settings), running_worker(client, settings):
        result = await place_order(client, order, settings.task_queue, wait="outcome")
        finished = await finished_when(
            spans, lambda ss: len(named(ss, "consume order.completed.v1")) >= 3
        )
    assert result.state == OrderState.COMPLETED

    ours = order_trace(finished, order)
    one(ours, "StartWorkflow:OrderWorkflow")
    one(ours, "RunWorkflow:OrderWorkflow")
    for activity in FORWARD:  # exactly one each: a second interceptor would duplicate them
        run = one(ours, f"RunActivity:{activity}")
        assert parent_of(run, ours).name == f"StartActivity:{activity}"
        assert run.status.status_code != StatusCode.ERROR
    publish = one(ours, "publish order.completed.v1")
    assert publish.kind == SpanKind.PRODUCER
    assert parent_of(publish, ours).name == "RunActivity:publish_event"
    consumed = named(ours, "consume order.completed.v1")
    assert sorted(attr(c, "podium.consumer") for c in consumed) == [
        "analytics",
        "loyalty",
        "notifications",
    ]
    for span in consumed:
        assert span.kind == SpanKind.CONSUMER
        assert parent_of(span, ours) is publish
        assert attr(span, "podium.outcome") == "acked"
        assert attr(span, "podium.event_id") == result.event_id
        assert attr(span, "podium.order_id") == order.order_id
        assert attr(span, "podium.attempt") == 0


async def test_declined_card_trace_shows_the_compensations(
    traced_settings: Settings, spans: InMemorySpanExporter
) -> None:
    settings = traced_settings
    client = await connect_temporal(settings)
    order = an_order(payment_token="tok_declined")
    await declare_consumer_topology(settings)  # order.failed.v1 must be routable
    async with running_worker(client, settings):
        result = await place_order(client, order, settings.task_queue, wait="outcome")
    assert result.state == OrderState.FAILED

    ours = order_trace(spans.get_finished_spans(), order)
    charge = one(ours, "RunActivity:charge_payment")
    # A declined card is a business refusal (the BENIGN category): recorded on the span, not
    # marked as an error, as the worker does not log it as one either.
    assert charge.status.status_code != StatusCode.ERROR
    assert [e.attributes["exception.type"] for e in charge.events if e.name == "exception"] == [
        "temporalio.exceptions.ApplicationError"
    ]
    release = one(ours, "RunActivity:release_stock")
    cancel = one(ours, "RunActivity:cancel_order")
    assert charge.start_time is not None and release.start_time is not None
    assert cancel.start_time is not None
    assert charge.start_time < release.start_time < cancel.start_time  # newest undone first
    assert named(ours, "RunActivity:refund_payment") == []  # nothing was charged
    assert [attr(s, "podium.compensation") for s in (charge, release, cancel)] == [
        None,
        True,
        True,
    ]
    assert named(ours, "RunActivity:confirm_order") == []
    publish = one(ours, "publish order.failed.v1")
    assert parent_of(publish, ours).name == "RunActivity:publish_event"


async def test_retries_stay_in_the_trace_and_a_dead_letter_is_an_error(
    traced_settings: Settings, spans: InMemorySpanExporter
) -> None:
    settings = traced_settings
    calls = {"flaky": 0}

    def flaky(event: Any, tx: Any) -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RetryLater("mail relay busy")

    def poison(event: Any, tx: Any) -> None:
        raise DeadLetter("no such customer")

    chosen = [
        Consumer("flaky", (OrderCompletedV1,), flaky),
        Consumer("poison", (OrderCompletedV1,), poison),
    ]
    event = completed()
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=5)
    try:
        async with running_consumers(settings, consumers=chosen):
            with trace.get_tracer(__name__).start_as_current_span("test.cause"):
                await publisher.publish(event)
            finished = await finished_when(
                spans, lambda ss: len(named(ss, "consume order.completed.v1")) >= 3
            )
    finally:
        await publisher.close()

    cause = one(finished, "test.cause")
    publish = one(finished, "publish order.completed.v1")
    assert parent_of(publish, finished) is cause
    consumed = named(finished, "consume order.completed.v1")
    for span in consumed:
        assert span.context.trace_id == cause.context.trace_id
        assert parent_of(span, finished) is publish
    attempts = sorted(
        (attr(s, "podium.attempt"), attr(s, "podium.outcome"))
        for s in consumed
        if attr(s, "podium.consumer") == "flaky"
    )
    assert attempts == [(0, "retried"), (1, "acked")]
    [dead] = [s for s in consumed if attr(s, "podium.consumer") == "poison"]
    assert attr(dead, "podium.outcome") == "dead-lettered"
    assert dead.status.status_code == StatusCode.ERROR
    assert dead.status.description == "no such customer"


async def test_status_queries_make_no_spans_of_their_own(
    traced_settings: Settings, spans: InMemorySpanExporter
) -> None:
    """`podium status` polls a query: untraced, so no trace per poll reaches the span file."""
    settings = traced_settings
    client = await connect_temporal(settings)
    order = an_order()
    await declare_consumer_topology(settings)
    async with running_worker(client, settings):
        await place_order(client, order, settings.task_queue, wait="outcome")
        spans.clear()
        for _ in range(3):
            assert (await order_status(client, order.order_id)).state == OrderState.COMPLETED
        with trace.get_tracer("test").start_as_current_span("operator looks"):
            await order_status(client, order.order_id)
    names = [s.name for s in spans.get_finished_spans()]
    assert names == ["operator looks"]
