from datetime import timedelta
from decimal import Decimal

import pytest

from contracts.money import Currency
from services import errors
from services.errors import BusinessError, FraudSuspected
from services.risk import DEFAULT_REVIEW_ABOVE, DEFAULT_REVIEW_WINDOW, RiskService
from workflows.policies import BUSINESS_ERRORS


def test_ordinary_orders_are_approved() -> None:
    assessment = RiskService().assess("o-1", Decimal("34.99"), Currency.EUR, "tok_visa")
    assert assessment.decision == "approved"


def test_the_fraud_token_is_refused() -> None:
    with pytest.raises(FraudSuspected, match="fraud list"):
        RiskService().assess("o-1", Decimal(10), Currency.EUR, "tok_fraud")


def test_large_or_flagged_orders_go_to_review_with_their_window() -> None:
    large = RiskService().assess("o-2", DEFAULT_REVIEW_ABOVE + 1, Currency.EUR, "tok_visa")
    assert large.decision == "review" and large.review_window == DEFAULT_REVIEW_WINDOW
    assert large.reason is not None and "above 1000" in large.reason
    assert RiskService().assess("o-3", DEFAULT_REVIEW_ABOVE, Currency.EUR, "tok_visa").decision == (
        "approved"
    )
    service = RiskService(review_above=Decimal(50), review_window=timedelta(minutes=5))
    flagged = service.assess("o-4", Decimal(10), Currency.EUR, "tok_review")
    assert flagged.decision == "review" and flagged.review_window == timedelta(minutes=5)
    assert service.assess("o-5", Decimal(51), Currency.EUR, "tok_visa").decision == "review"


def test_every_business_error_is_non_retryable_in_the_retry_policies() -> None:
    # The workflow tells a refusal from an unknown outcome by this list: a refusal missing
    # from it would be compensated as if its effect might have happened.
    refusals = {
        cls.__name__
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, BusinessError) and cls is not BusinessError
    }
    assert refusals <= set(BUSINESS_ERRORS)
