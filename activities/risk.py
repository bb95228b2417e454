from temporalio import activity

from activities.failures import business_errors_as_failures
from contracts.steps import AssessRisk, RiskAssessment
from services.risk import RiskService


class RiskActivities:
    def __init__(self, risk: RiskService) -> None:
        self._risk = risk

    @activity.defn(name="assess_risk")
    def assess_risk(self, command: AssessRisk) -> RiskAssessment:
        with business_errors_as_failures():
            return self._risk.assess(
                command.order_id, command.amount, command.currency, command.payment_token
            )
