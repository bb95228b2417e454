"""The runtime's own rules, without a broker: headers, error classes, the breaker."""

import json
import smtplib
import socket
import sqlite3
import time
from types import SimpleNamespace
from typing import Any

import pytest

from consumers.loyalty import CONSUMER as LOYALTY
from consumers.runtime import headers as h
from consumers.runtime.breaker import Breaker, BreakerOptions, State
from consumers.runtime.decoding import check_identity, decode
from consumers.runtime.outcomes import DeadLetter, HandlerTimedOut, Kind, RetryLater, classify
from contracts.events import OrderCompletedV1
from tests.support.consumers import completed


def _message(headers: dict[str, Any], routing_key: str = "order.completed.v1") -> Any:
    return SimpleNamespace(headers=headers, routing_key=routing_key)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        (2, 2),
        (-1, 0),
        (10**18, h.MAX_ATTEMPT),
        ("3", 3),
        (b"1", 1),
        ("9" * 5000, 0),
        ("1e9", 0),
        (True, 0),
        (2.5, 0),
        ({"a": 1}, 0),
    ],
)
def test_the_attempt_header_is_validated_and_clamped(value: Any, expected: int) -> None:
    assert h.attempt_of(_message({h.ATTEMPT: value})) == expected
    assert h.attempt_of(_message({h.ATTEMPT: value}), limit=1) == min(expected, 1)
    assert h.replayed_of(_message({h.REPLAYED: value})) == expected


@pytest.mark.parametrize(
    "value", ["x" * 256, "ü" * 200, "line\nbreak", 42, b"\xff" * 300, ["order.completed.v1"]]
)
def test_an_unusable_routing_key_header_falls_back_to_the_delivery(value: Any) -> None:
    assert h.original_routing_key(_message({h.ROUTING_KEY: value})) == "order.completed.v1"


def test_a_routing_key_from_x_death_is_checked_too() -> None:
    deaths = [{"routing-keys": ["y" * 1000]}]
    assert h.original_routing_key(_message({"x-death": deaths}, "rk")) == "rk"
    deaths = [{"routing-keys": ["order.failed.v1"]}]
    assert h.original_routing_key(_message({"x-death": deaths}, "rk")) == "order.failed.v1"


def _validation_error() -> Exception:
    try:
        OrderCompletedV1.model_validate({})
    except Exception as err:
        return err
    raise AssertionError("validated")


@pytest.mark.parametrize(
    ("err", "kind"),
    [
        (DeadLetter("no"), Kind.PERMANENT),
        (_validation_error(), Kind.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@b.de": (550, b"no such user")}), Kind.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@b.de": (450, b"mailbox busy")}), Kind.UNAVAILABLE),
        (smtplib.SMTPDataError(554, b"rejected"), Kind.PERMANENT),
        (smtplib.SMTPDataError(451, b"try later"), Kind.UNAVAILABLE),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "x"), Kind.UNAVAILABLE),
        (smtplib.SMTPNotSupportedError("no SMTPUTF8"), Kind.PERMANENT),
        (smtplib.SMTPServerDisconnected("gone"), Kind.UNAVAILABLE),
        (ConnectionRefusedError(111, "refused"), Kind.UNAVAILABLE),
        (TimeoutError(), Kind.UNAVAILABLE),
        (socket.gaierror("no such host"), Kind.UNAVAILABLE),
        (sqlite3.OperationalError("database is locked"), Kind.UNAVAILABLE),
        (RetryLater("busy"), Kind.UNAVAILABLE),
        (ValueError("a bug"), Kind.TRANSIENT),
        (HandlerTimedOut("over its time limit"), Kind.TRANSIENT),
        (KeyError("a bug"), Kind.TRANSIENT),
    ],
)
def test_errors_are_classified(err: Exception, kind: Kind) -> None:
    assert classify(err) is kind


def test_one_conclusive_failure_opens_the_breaker() -> None:
    breaker = Breaker(BreakerOptions(threshold=50), lambda state: None)
    assert not breaker.failed()
    assert breaker.failed(conclusive=True) and breaker.is_open


def test_ids_that_disagree_are_refused_as_forged() -> None:
    check_identity("e-1", "e-1")
    for message_id in ("e-2", None, ""):
        with pytest.raises(DeadLetter, match=r"^forged: "):
            check_identity(message_id, "e-1")
    with pytest.raises(DeadLetter) as caught:
        check_identity("e", "x" * 100_000)
    assert len(str(caught.value)) < 300


def test_the_breaker_opens_after_consecutive_failures_probes_and_closes() -> None:
    moves: list[State] = []
    breaker = Breaker(BreakerOptions(threshold=3, pause=1, max_pause=3), moves.append)
    assert not breaker.failed() and not breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    assert not breaker.failed() and not breaker.failed()
    assert breaker.failed() and breaker.is_open
    assert breaker.failed()  # more failures in flight: still open, no new move
    breaker.probing()
    assert breaker.failed() and breaker.pause == 2  # the probe failed: open, longer pause
    breaker.probing()
    assert breaker.failed() and breaker.pause == 3  # capped
    breaker.probing()
    breaker.succeeded()
    assert breaker.state is State.CLOSED and breaker.pause == 1 and breaker.failures == 0
    assert moves == [State.OPEN, *[State.HALF_OPEN, State.OPEN] * 2, State.HALF_OPEN, State.CLOSED]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["order", "total"], "1e999999999"),  # int() of it would build a billion digits
        (["order", "total"], "-1"),
        (["order", "order_id"], "o" * 100_000),
        (["order", "email"], "x" * 100_000),
        (["event_id"], "e" * 1_000),
        (["order", "items"], []),
    ],
)
def test_absurd_event_fields_are_refused_when_decoding(path: list[str], value: Any) -> None:
    data: Any = completed().model_dump(mode="json")
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    start = time.perf_counter()
    with pytest.raises(DeadLetter, match="schema mismatch"):
        decode(json.dumps(data).encode(), LOYALTY)
    assert time.perf_counter() - start < 0.1


def test_span_reasons_are_bounded_and_carry_no_address() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from consumers.runtime import tracing

    span = TracerProvider().get_tracer("t").start_span("consume")
    with trace.use_span(span, end_on_exit=True):
        tracing.dead_lettered("SMTPRecipientsRefused: {'jörg@example.de': (550, b'no')}" * 100)
        tracing.retried("x" * 100_000)
    attributes = span.attributes or {}
    reason = str(attributes["podium.dead_letter_reason"])
    assert "jörg" not in reason and len(reason) < 1_100
    assert len(str(attributes["podium.error"])) < 1_100
