"""The saga's steps as activities: each class adapts one service, handed in at construction, and
turns its business refusals into non-retryable failures the workflow compensates on."""

from opentelemetry import trace
from temporalio import activity

from activities.failures import business_errors_as_failures
from contracts.steps import (
    AssessRisk,
    Charge,
    ChargePayment,
    CreateOrder,
    OrderRecord,
    OrderRef,
    RefundPayment,
    ReleaseStock,
    Reservation,
    ReserveStock,
    RiskAssessment,
)
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from services.risk import RiskService

# Set on the span of each undo activity, so a trace tells compensations from forward steps.
COMPENSATION = "podium.compensation"


def _undoing() -> None:
    trace.get_current_span().set_attribute(COMPENSATION, True)


class OrderActivities:
    def __init__(self, orders: OrderService) -> None:
        self._orders = orders

    @activity.defn(name="create_order")
    def create_order(self, command: CreateOrder) -> OrderRecord:
        with business_errors_as_failures():
            return self._orders.create(command.key, command.request)

    @activity.defn(name="confirm_order")
    def confirm_order(self, command: OrderRef) -> OrderRecord:
        with business_errors_as_failures():
            return self._orders.confirm(command.key, command.order_id)

    @activity.defn(name="cancel_order")
    def cancel_order(self, command: OrderRef) -> OrderRecord:
        _undoing()
        with business_errors_as_failures():
            return self._orders.cancel(command.key, command.order_id)

    @activity.defn(name="cancel_unless_confirmed")
    def cancel_unless_confirmed(self, command: OrderRef) -> OrderRecord:
        """The pivot's arbiter for a cancelled order that may have been charged."""
        return self._orders.cancel_unless_confirmed(command.key, command.order_id)


class InventoryActivities:
    def __init__(self, inventory: InventoryService) -> None:
        self._inventory = inventory

    @activity.defn(name="reserve_stock")
    def reserve_stock(self, command: ReserveStock) -> Reservation:
        with business_errors_as_failures():
            return self._inventory.reserve(command.key, command.order_id, command.lines)

    @activity.defn(name="release_stock")
    def release_stock(self, command: ReleaseStock) -> Reservation:
        _undoing()
        with business_errors_as_failures():
            return self._inventory.release(command.key, command.reservation_key)


class RiskActivities:
    def __init__(self, risk: RiskService) -> None:
        self._risk = risk

    @activity.defn(name="assess_risk")
    def assess_risk(self, command: AssessRisk) -> RiskAssessment:
        with business_errors_as_failures():
            return self._risk.assess(
                command.order_id, command.amount, command.currency, command.payment_token
            )


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
        _undoing()
        with business_errors_as_failures():
            return self._payments.refund(command.key, command.charge_key)
