from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.money import Currency
from services.errors import (
    ChargeVoided,
    IdempotencyConflict,
    InvalidAmount,
    PaymentDeclined,
    PaymentGatewayUnavailable,
)
from services.payment import PaymentFaults, PaymentService
from tests.support.databases import Places

GBP = Currency.GBP
TOKEN = "tok_visa_secret_4242"


@pytest.fixture
def payments(places: Places) -> Iterator[PaymentService]:
    service = PaymentService(places("payments"))
    yield service
    service.close()


def test_charge_captures_the_amount_once_per_key(payments: PaymentService) -> None:
    first = payments.charge("c", "o-1", Decimal("39.98"), GBP, TOKEN)
    assert (first.status, first.amount, first.currency) == ("CAPTURED", Decimal("39.98"), GBP)
    assert payments.charge("c", "o-1", Decimal("39.98"), GBP, TOKEN) == first
    assert payments.captured_total(GBP) == Decimal("39.98")
    assert [entry.order_id for entry in payments.charges()] == ["o-1"]


def test_same_charge_key_with_another_amount_is_a_conflict(payments: PaymentService) -> None:
    payments.charge("c", "o-1", Decimal("10.00"), GBP, TOKEN)
    with pytest.raises(IdempotencyConflict):
        payments.charge("c", "o-1", Decimal("10.01"), GBP, TOKEN)
    assert payments.captured_total(GBP) == Decimal("10.00")


def test_racing_retries_of_one_charge_capture_once(payments: PaymentService) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: payments.charge("c", "o-1", Decimal("5"), GBP, TOKEN), range(8))
        )
    assert len(set(results)) == 1
    assert payments.captured_total(GBP) == Decimal("5")


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_declined", "card_declined"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("not-a-token", "card_declined"),
    ],
)
def test_declining_tokens_raise_payment_declined_and_capture_nothing(
    payments: PaymentService, token: str, code: str
) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        payments.charge("c", "o-1", Decimal("10"), GBP, token)
    assert caught.value.code == code
    assert payments.charges() == []


def test_transient_token_fails_n_times_then_succeeds_with_the_same_key(places: Places) -> None:
    path = places("payments")
    for _ in range(2):
        with pytest.raises(PaymentGatewayUnavailable):
            PaymentService(path).charge("c", "o-1", Decimal("10"), GBP, "tok_transient_3")
    # A fresh service (another worker, or a restart) continues the count from the database.
    with pytest.raises(PaymentGatewayUnavailable):
        PaymentService(path).charge("c", "o-1", Decimal("10"), GBP, "tok_transient_3")
    charge = PaymentService(path).charge("c", "o-1", Decimal("10"), GBP, "tok_transient_3")
    assert charge.status == "CAPTURED"
    assert PaymentService(path).charge("c", "o-1", Decimal("10"), GBP, "tok_transient_3") == charge
    assert PaymentService(path).captured_total(GBP) == Decimal("10")


def test_transient_failures_are_counted_per_key(payments: PaymentService) -> None:
    with pytest.raises(PaymentGatewayUnavailable):
        payments.charge("c1", "o-1", Decimal("10"), GBP, "tok_transient_1")
    with pytest.raises(PaymentGatewayUnavailable):
        payments.charge("c2", "o-2", Decimal("10"), GBP, "tok_transient_1")
    assert payments.charge("c1", "o-1", Decimal("10"), GBP, "tok_transient_1").status == "CAPTURED"


def test_fault_rate_one_always_fails_and_zero_never(places: Places) -> None:
    broken = PaymentService(places("payments"), PaymentFaults(failure_rate=1.0, seed=1))
    for i in range(20):
        with pytest.raises(PaymentGatewayUnavailable):
            broken.charge(f"c{i}", "o-1", Decimal("1"), GBP, TOKEN)
    with pytest.raises(PaymentGatewayUnavailable):
        broken.refund("r", "c0")
    healthy = PaymentService(places("payments"), PaymentFaults(failure_rate=0.0, latency_ms=1))
    for i in range(20):
        assert healthy.charge(f"c{i}", "o-1", Decimal("1"), GBP, TOKEN).status == "CAPTURED"


def test_faults_reject_a_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError):
        PaymentFaults(failure_rate=1.5)


def test_refund_returns_the_full_amount_once(payments: PaymentService) -> None:
    charge = payments.charge("c", "o-1", Decimal("39.98"), GBP, TOKEN)
    refund = payments.refund("r", "c")
    assert (refund.payment_id, refund.status, refund.amount) == (
        charge.payment_id,
        "REFUNDED",
        Decimal("39.98"),
    )
    assert payments.refund("r", "c") == refund
    assert payments.refund("r-again", "c").status == "REFUNDED"
    assert payments.refunded_total(GBP) == Decimal("39.98")
    assert payments.captured_total(GBP) == Decimal("39.98")


def test_refund_before_charge_voids_the_late_charge(payments: PaymentService) -> None:
    voided = payments.refund("r", "c")
    assert (voided.status, voided.amount) == ("VOIDED", Decimal(0))
    with pytest.raises(ChargeVoided) as caught:
        payments.charge("c", "o-1", Decimal("10"), GBP, TOKEN)
    assert caught.value.code == "charge_voided"
    assert payments.captured_total(GBP) == Decimal(0)
    assert payments.refunded_total(GBP) == Decimal(0)
    assert payments.refund("r2", "c").status == "VOIDED"
    [entry] = payments.charges()
    assert (entry.status, entry.order_id, entry.currency) == ("VOIDED", None, None)


def test_the_payment_token_is_never_stored(tmp_path: Path) -> None:
    payments = PaymentService(tmp_path / "payments.db")
    payments.charge("c", "o-1", Decimal("10"), GBP, TOKEN)
    payments.refund("r", "c")
    files = list(tmp_path.glob("payments.db*"))
    assert files
    for file in files:
        assert TOKEN.encode() not in file.read_bytes()


def test_amounts_sum_exactly_as_decimals(payments: PaymentService) -> None:
    for i in range(10):
        payments.charge(f"c{i}", f"o-{i}", Decimal("0.10"), GBP, TOKEN)
    payments.charge("c-x", "o-x", Decimal("0.20"), GBP, TOKEN)
    payments.refund("r", "c-x")
    assert payments.captured_total(GBP) == Decimal("1.20")
    assert payments.refunded_total(GBP) == Decimal("0.20")
    assert payments.captured_total(Currency.EUR) == Decimal(0)


def test_an_amount_finer_than_the_currency_is_refused(payments: PaymentService) -> None:
    with pytest.raises(InvalidAmount):
        payments.charge("c", "o-1", Decimal("0.001"), GBP, TOKEN)
    with pytest.raises(InvalidAmount):
        payments.charge("c", "o-1", Decimal("-5"), GBP, TOKEN)
