"""Fraud screening before the charge: deterministic rules standing in for a risk provider."""

from datetime import timedelta
from decimal import Decimal

from contracts.money import Currency
from contracts.steps import RiskAssessment
from services.errors import FraudSuspected

# Test tokens a demo or test uses to trip the screen, like the gateway's declining tokens.
FRAUD_TOKEN = "tok_fraud"
REVIEW_TOKEN = "tok_review"  # a card the rules flag for a person to look at
DEFAULT_REVIEW_ABOVE = Decimal(1_000)
DEFAULT_REVIEW_WINDOW = timedelta(hours=24)


class RiskService:
    """Stateless: the same order always gets the same answer, so retries are harmless.

    An order above `review_above` currency units, or one the rules flag, goes to manual review
    instead of being charged; without a decision within `review_window` it is rejected.
    """

    def __init__(
        self,
        review_above: Decimal = DEFAULT_REVIEW_ABOVE,
        review_window: timedelta = DEFAULT_REVIEW_WINDOW,
    ) -> None:
        self._review_above = review_above
        self._review_window = review_window

    def assess(
        self, order_id: str, amount: Decimal, currency: Currency, payment_token: str
    ) -> RiskAssessment:
        if payment_token == FRAUD_TOKEN:
            raise FraudSuspected(f"order {order_id}: the card is on the fraud list")
        if amount > self._review_above:
            return self._review(order_id, f"{amount} {currency} is above {self._review_above}")
        if payment_token == REVIEW_TOKEN:
            return self._review(order_id, "the card is flagged for review")
        return RiskAssessment(order_id=order_id, decision="approved")

    def _review(self, order_id: str, reason: str) -> RiskAssessment:
        return RiskAssessment(
            order_id=order_id, decision="review", reason=reason, review_window=self._review_window
        )
