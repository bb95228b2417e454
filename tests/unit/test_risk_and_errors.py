from decimal import Decimal

import pytest

from contracts.money import Currency
from services import errors
from services.errors import BusinessError, FraudSuspected
from services.risk import REVIEW_LIMIT, RiskService
from workflows.policies import BUSINESS_ERRORS


def test_ordinary_orders_are_approved() -> None:
    assessment = RiskService().assess("o-1", Decimal("34.99"), Currency.EUR, "tok_visa")
    assert assessment.decision == "approved"


def test_the_fraud_token_and_huge_orders_are_refused() -> None:
    with pytest.raises(FraudSuspected, match="fraud list"):
        RiskService().assess("o-1", Decimal(10), Currency.EUR, "tok_fraud")
    with pytest.raises(FraudSuspected, match="review limit"):
        RiskService().assess("o-2", REVIEW_LIMIT + 1, Currency.EUR, "tok_visa")


def test_every_business_error_is_non_retryable_in_the_retry_policies() -> None:
    # The workflow tells a refusal from an unknown outcome by this list: a refusal missing
    # from it would be compensated as if its effect might have happened.
    refusals = {
        cls.__name__
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, BusinessError) and cls is not BusinessError
    }
    assert refusals <= set(BUSINESS_ERRORS)
