"""Each message's handling as a span in the order's trace.

The span `consume <routing key>` (kind CONSUMER) is a child of the publish span whose W3C
`traceparent` the publisher put in the message headers, not a new trace linked to it: the
publish activity waits for the broker's confirm only, but the consumers' work is still caused by
that one order, and a child makes client -> workflow -> activities -> publish -> consumers one
tree. A retry copy keeps the headers, so every attempt is another child of the same publish
span; a dead-lettered message's span has an error status and the reason.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import Status, StatusCode

from consumers.runtime import headers as h
from contracts.scrub import clean

tracer = trace.get_tracer(__name__)
OUTCOME = "podium.outcome"
_PROPAGATED = ("traceparent", "tracestate", "baggage")
MAX_TEXT = 1_000
_MAX_PROPAGATED = 8_192  # W3C baggage's own limit; traceparent and tracestate are far shorter


@contextmanager
def consuming(consumer: str, message: AbstractIncomingMessage) -> Iterator[None]:
    """Run the handling of `message` by `consumer` in its span; the outcome defaults to acked."""
    routing_key = h.original_routing_key(message)
    with tracer.start_as_current_span(
        f"consume {routing_key}",
        context=propagate.extract(_carrier(message.headers)),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": message.message_id or "",
            "podium.consumer": consumer,
            "podium.event_id": message.message_id or "",
            "podium.order_id": message.correlation_id or "",
            "podium.attempt": h.attempt_of(message),
            OUTCOME: "acked",
        },
    ) as span:
        try:
            yield
        except BaseException:
            span.set_attribute(OUTCOME, "unacked")  # the broker redelivers it
            raise


def retried(error: str) -> None:
    span = trace.get_current_span()
    span.set_attribute(OUTCOME, "retried")
    span.set_attribute("podium.error", clean(error, MAX_TEXT))


def parked() -> None:
    trace.get_current_span().set_attribute(OUTCOME, "parked")


def dead_lettered(reason: str) -> None:
    # Reasons quote errors, and an SMTP refusal quotes the recipient: bounded and scrubbed.
    reason = clean(reason, MAX_TEXT)
    span = trace.get_current_span()
    span.set_attribute(OUTCOME, "dead-lettered")
    span.set_attribute("podium.dead_letter_reason", reason)
    span.set_status(Status(StatusCode.ERROR, reason))


def _carrier(headers: Mapping[str, Any]) -> dict[str, str]:
    # Only the W3C headers, and only if short: the propagator parses them on the event loop.
    # AMQP header strings may arrive as bytes; the propagator reads text only.
    carrier = {}
    for key in _PROPAGATED:
        value = headers.get(key)
        if isinstance(value, bytes) and len(value) <= _MAX_PROPAGATED:
            value = value.decode(errors="replace")
        if isinstance(value, str) and len(value) <= _MAX_PROPAGATED:
            carrier[key] = value
    return carrier
