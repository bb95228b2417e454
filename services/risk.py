"""Fraud screening before the charge: deterministic rules standing in for a risk provider."""

from decimal import Decimal

from contracts.money import Currency
from contracts.steps import RiskAssessment
from services.errors import FraudSuspected

# Test token a demo or test uses to trip the screen, like the gateway's declining tokens.
FRAUD_TOKEN = "tok_fraud"
# One order above this many currency units goes to manual review instead of being charged.
REVIEW_LIMIT = Decimal(20_000)


class RiskService:
    """Stateless: the same order always gets the same answer, so retries are harmless."""

    def assess(
        self, order_id: str, amount: Decimal, currency: Currency, payment_token: str
    ) -> RiskAssessment:
        if payment_token == FRAUD_TOKEN:
            raise FraudSuspected(f"order {order_id}: the card is on the fraud list")
        if amount > REVIEW_LIMIT:
            raise FraudSuspected(
                f"order {order_id}: {amount} {currency} is above the {REVIEW_LIMIT} review limit"
            )
        return RiskAssessment(order_id=order_id, decision="approved")
