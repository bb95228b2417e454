from temporalio import activity

from activities.failures import business_errors_as_failures
from contracts.steps import CreateOrder, OrderRecord, OrderRef
from services.orders import OrderService


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
        with business_errors_as_failures():
            return self._orders.cancel(command.key, command.order_id)
