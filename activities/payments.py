from temporalio import activity

from activities.failures import business_errors_as_failures
from contracts.steps import Charge, ChargePayment, RefundPayment
from services.payment import PaymentService


class PaymentActivities:
    def __init__(self, payments: PaymentService) -> None:
        self._payments = payments

    @activity.defn(name="charge_payment")
    def charge_payment(self, command: ChargePayment) -> Charge:
        with business_errors_as_failures():
            return self._payments.charge(
                command.key,
                command.order_id,
                command.amount,
                command.currency,
                command.payment_token,
            )

    @activity.defn(name="refund_payment")
    def refund_payment(self, command: RefundPayment) -> Charge:
        with business_errors_as_failures():
            return self._payments.refund(command.key, command.charge_key)
